//! A prompt version's template: plain text, or chat messages (a JSON list of {role, content}).
import { PROMPT_TEXT_TAG, PROMPT_TYPE_TAG, tagOf } from '../../api/registry';
import type { ModelVersion } from '../../api/types';

export interface ChatMessage {
  role: string;
  content: string;
}

export type Template = { kind: 'text'; text: string } | { kind: 'chat'; messages: ChatMessage[]; raw: string };

export function templateOf(version: ModelVersion): Template {
  const raw = tagOf(version.tags, PROMPT_TEXT_TAG) ?? '';
  const chat = tagOf(version.tags, PROMPT_TYPE_TAG) === 'chat' || raw.trimStart().startsWith('[');
  if (chat) {
    const messages = parseMessages(raw);
    if (messages) return { kind: 'chat', messages, raw };
  }
  return { kind: 'text', text: raw };
}

function parseMessages(raw: string): ChatMessage[] | undefined {
  try {
    const list = JSON.parse(raw) as unknown;
    if (!Array.isArray(list)) return undefined;
    return list.map((m) => {
      const msg = (m ?? {}) as { role?: unknown; content?: unknown };
      return {
        role: typeof msg.role === 'string' ? msg.role : 'message',
        content: typeof msg.content === 'string' ? msg.content : JSON.stringify(msg.content, null, 2),
      };
    });
  } catch {
    return undefined;
  }
}

/** The template as lines to diff: chat messages as a `[role]` line followed by their content. */
export function templateLines(template: Template): string {
  if (template.kind === 'text') return template.text;
  return template.messages.map((m) => `[${m.role}]\n${m.content}`).join('\n');
}
