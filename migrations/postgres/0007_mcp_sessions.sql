-- MCP Streamable HTTP sessions (POST /mcp): issued at initialize, bound to the
-- user, ended by DELETE or after an idle period. In the database (not in one
-- process's memory) so any api replica can serve a session's next request.
-- Only a hash of the session id is stored, as for API tokens.
CREATE TABLE mcp_sessions (
    id               BIGSERIAL PRIMARY KEY, -- creation order (a tie-break for pruning)
    id_hash          TEXT NOT NULL UNIQUE,
    user_id          BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    protocol_version TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_used_at     BIGINT NOT NULL
);
CREATE INDEX mcp_sessions_user ON mcp_sessions(user_id, last_used_at);
CREATE INDEX mcp_sessions_idle ON mcp_sessions(last_used_at);
