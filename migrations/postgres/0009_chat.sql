-- Chat conversations (POST /api/v1/chat): stored, not held in a process, so any
-- api replica can answer the next turn. `state` is the engine's per-conversation
-- memory (JSON: the last task talked about, a pending numbered choice).
CREATE TABLE conversations (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT '{}',
    message_count INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX conversations_user ON conversations(user_id, updated_at);
CREATE TABLE chat_messages (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL,
    role            TEXT NOT NULL,   -- user | assistant
    content         TEXT NOT NULL,
    actions         TEXT,            -- assistant: JSON [{tool, arguments, result}]
    engine          TEXT,            -- assistant: builtin | openai
    created_at      BIGINT NOT NULL
);
CREATE INDEX chat_messages_conv ON chat_messages(conversation_id, id);
