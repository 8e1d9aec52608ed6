/*
 * routes.c — the route table: every endpoint of the HTTP API in one place. Order
 * matters only for readability; patterns never overlap.
 */
#include "api/api.h"

const struct http_route api_routes[] = {
    {"GET", "/", api_h_root},
    {"GET", "/healthz", api_h_healthz},
    {"GET", "/readyz", api_h_readyz},
    {"GET", "/metrics", api_h_metrics},

    {"POST", "/api/v1/auth/register", api_h_register},
    {"POST", "/api/v1/auth/login", api_h_login},
    {"POST", "/api/v1/auth/tokens", api_h_tokens_create},
    {"GET", "/api/v1/auth/tokens", api_h_tokens_list},
    {"DELETE", "/api/v1/auth/tokens/{id}", api_h_tokens_delete},
    {"GET", "/api/v1/me", api_h_me_get},
    {"PATCH", "/api/v1/me", api_h_me_patch},

    {"GET", "/api/v1/tasks", api_h_tasks_list},
    {"POST", "/api/v1/tasks", api_h_tasks_create},
    {"GET", "/api/v1/tasks/{id}", api_h_task_get},
    {"PATCH", "/api/v1/tasks/{id}", api_h_task_patch},
    {"DELETE", "/api/v1/tasks/{id}", api_h_task_delete},
    {"POST", "/api/v1/tasks/{id}/complete", api_h_task_complete},
    {"POST", "/api/v1/tasks/{id}/reopen", api_h_task_reopen},
    {"GET", "/api/v1/tasks/{id}/history", api_h_task_history},

    {"GET", "/api/v1/audit", api_h_audit_list},

    {"GET", "/api/v1/tags", api_h_tags_list},
    {"POST", "/api/v1/tags", api_h_tags_create},
    {"PATCH", "/api/v1/tags/{id}", api_h_tag_patch},
    {"DELETE", "/api/v1/tags/{id}", api_h_tag_delete},

    /* Called by the Dapr sidecar, only with TOCK_BUS=dapr (h_dapr.c). */
    {"GET", "/dapr/subscribe", api_h_dapr_subscribe},
    {"POST", "/events/{group}/{topic}", api_h_dapr_event},

    /* ---- mcp: Streamable HTTP (h_mcp.c); GET gets the router's 405 ---- */
    {"POST", "/mcp", api_h_mcp_post},
    {"DELETE", "/mcp", api_h_mcp_delete},
};

const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];
