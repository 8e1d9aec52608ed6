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

    /* ---- quick-add language (h_parse.c) ---- */
    {"POST", "/api/v1/parse", api_h_parse},

    /* Called by the Dapr sidecar, only with TOCK_BUS=dapr (h_dapr.c). */
    {"GET", "/dapr/subscribe", api_h_dapr_subscribe},
    {"POST", "/events/{group}/{topic}", api_h_dapr_event},

    /* ---- reminders (h_reminders.c) ---- */
    {"GET", "/api/v1/tasks/{id}/reminders", api_h_task_reminders_list},
    {"POST", "/api/v1/tasks/{id}/reminders", api_h_task_reminders_create},
    {"GET", "/api/v1/reminders", api_h_reminders_list},
    {"GET", "/api/v1/reminders/{id}", api_h_reminder_get},
    {"DELETE", "/api/v1/reminders/{id}", api_h_reminder_delete},
    {"POST", "/api/v1/reminders/{id}/snooze", api_h_reminder_snooze},

    /* ---- notifications (h_notifications.c) ---- */
    {"GET", "/api/v1/notifications", api_h_notifications_list},
    {"POST", "/api/v1/notifications/read-all", api_h_notifications_read_all},
    {"POST", "/api/v1/notifications/{id}/read", api_h_notification_read},
    {"GET", "/api/v1/notifications/preferences", api_h_notify_prefs_get},
    {"PUT", "/api/v1/notifications/preferences", api_h_notify_prefs_put},
    {"POST", "/api/v1/notifications/test", api_h_notify_test},
    {"GET", "/api/v1/notifications/deliveries", api_h_deliveries_list},
    /* ---- sync: WebSocket upgrade (h_ws.c, docs/sync.md) ---- */
    {"GET", "/api/v1/ws", api_h_ws},

    /* ---- mcp: Streamable HTTP (h_mcp.c); GET gets the router's 405 ---- */
    {"POST", "/mcp", api_h_mcp_post},
    {"DELETE", "/mcp", api_h_mcp_delete},
    /* ---- chat (h_chat.c, docs/assistant.md) ---- */
    {"POST", "/api/v1/chat", api_h_chat},
    {"GET", "/api/v1/conversations", api_h_conversations_list},
    {"GET", "/api/v1/conversations/{id}", api_h_conversation_get},
    {"GET", "/api/v1/conversations/{id}/messages", api_h_conversation_messages},
    {"DELETE", "/api/v1/conversations/{id}", api_h_conversation_delete},
};

const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];

/*
 * Processes without the api role (relay, audit, ... replicas) still answer the
 * probes and the scrape, and — with TOCK_BUS=dapr — the sidecar's deliveries.
 */
const struct http_route api_ops_routes[] = {
    {"GET", "/", api_h_root},
    {"GET", "/healthz", api_h_healthz},
    {"GET", "/readyz", api_h_readyz},
    {"GET", "/metrics", api_h_metrics},
    {"GET", "/dapr/subscribe", api_h_dapr_subscribe},
    {"POST", "/events/{group}/{topic}", api_h_dapr_event},
};

const size_t api_ops_nroutes = sizeof api_ops_routes / sizeof api_ops_routes[0];
