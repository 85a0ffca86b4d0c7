//! Chat-shaped span inputs and outputs as a conversation: OpenAI-style `messages` [{role, content}]
//! in inputs, `choices[].message` in outputs (also a bare message list or message). Text only.

export interface ChatMessage {
  role: string;
  content?: unknown;
  name?: string;
  tool_calls?: unknown;
  tool_call_id?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isMessage = (v: unknown): v is ChatMessage =>
  isObject(v) && typeof v.role === 'string' && ('content' in v || 'tool_calls' in v);

const messageList = (v: unknown): ChatMessage[] | undefined =>
  Array.isArray(v) && v.length > 0 && v.every(isMessage) ? (v as ChatMessage[]) : undefined;

/** The messages in a span's inputs or outputs, or undefined when the value is not chat-shaped. */
export function chatMessages(value: unknown): ChatMessage[] | undefined {
  const direct = messageList(value);
  if (direct) return direct;
  if (isMessage(value)) return [value];
  if (!isObject(value)) return undefined;
  const fromMessages = messageList(value.messages);
  if (fromMessages) return fromMessages;
  if (Array.isArray(value.choices)) {
    const messages = value.choices.map((c) => (isObject(c) ? c.message ?? c.delta : undefined));
    if (messages.length > 0 && messages.every(isMessage)) return messages as ChatMessage[];
  }
  if (isMessage(value.message)) return [value.message];
  return undefined;
}

/** Keys of a chat-shaped object besides its messages (`tools`, `usage`, `model`...), shown only as JSON. */
export function otherKeys(value: unknown): string[] {
  if (!isObject(value)) return [];
  return Object.keys(value).filter((k) => k !== 'messages' && k !== 'choices' && k !== 'message');
}

/** The readable text of a message's content: a string, or the text parts of a part list. */
function contentParts(content: unknown): { text?: string; other?: string }[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return [{ text: content }];
  if (Array.isArray(content)) {
    return content.map((part) => {
      if (typeof part === 'string') return { text: part };
      if (isObject(part) && typeof part.text === 'string') return { text: part.text };
      if (isObject(part) && typeof part.type === 'string') return { other: `[${part.type}]` };
      return { other: JSON.stringify(part) };
    });
  }
  return [{ other: JSON.stringify(content, null, 2) }];
}

interface ToolCall {
  id?: string;
  function?: { name?: string; arguments?: unknown };
}

function ToolCalls({ calls }: { calls: unknown }) {
  if (!Array.isArray(calls) || calls.length === 0) return null;
  return (
    <div class="tool-calls">
      {(calls as ToolCall[]).map((call, k) => {
        const args = call.function?.arguments;
        let pretty = typeof args === 'string' ? args : JSON.stringify(args ?? {}, null, 2);
        try {
          if (typeof args === 'string') pretty = JSON.stringify(JSON.parse(args), null, 2);
        } catch {
          // Not JSON: show it as sent.
        }
        return (
          <div class="tool-call" key={call.id ?? k}>
            <div class="muted">
              calls <code>{call.function?.name ?? 'a tool'}</code>
              {call.id ? ` (${call.id})` : ''}
            </div>
            <pre class="block">{pretty}</pre>
          </div>
        );
      })}
    </div>
  );
}

export function Conversation({ messages }: { messages: ChatMessage[] }) {
  return (
    <ol class="chat" aria-label="Conversation">
      {messages.map((m, k) => {
        const role = m.role.toLowerCase();
        const known = ['system', 'user', 'assistant', 'tool', 'developer'].includes(role) ? role : 'other';
        return (
          <li key={k} class={`msg role-${known}`} data-role={role}>
            <div class="role">
              {m.role}
              {m.name ? <span class="muted"> · {m.name}</span> : null}
              {m.tool_call_id ? <span class="muted"> · for {m.tool_call_id}</span> : null}
            </div>
            {contentParts(m.content).map((part, j) =>
              part.text !== undefined ? (
                <div class="text" key={j}>
                  {part.text}
                </div>
              ) : (
                <pre class="block" key={j}>
                  {part.other}
                </pre>
              ),
            )}
            <ToolCalls calls={m.tool_calls} />
          </li>
        );
      })}
    </ol>
  );
}
