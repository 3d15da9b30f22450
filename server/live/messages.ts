/** Parsing what a socket client sends (docs/architecture.md#live-socket): anything malformed is a sentence, never a throw. */
import type { ClientMessage } from '../../common/protocol.js';
import { isTaskId } from '../../common/taskId.js';

export type Parsed = { ok: true; message: ClientMessage } | { ok: false; error: string; taskId?: string };

function taskIdOf(o: Record<string, unknown>): string | null {
  return isTaskId(o.taskId) ? o.taskId : null;
}

export function parseClientMessage(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'Messages must be JSON objects, e.g. {"type":"subscribe","taskId":"…"}.' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'Messages must be JSON objects with a "type".' };
  }
  const o = value as Record<string, unknown>;
  switch (o.type) {
    case 'ping':
      return { ok: true, message: { type: 'ping' } };
    case 'subscribe': {
      const taskId = taskIdOf(o);
      if (!taskId) return { ok: false, error: 'subscribe needs "taskId": the id of a mosaic task (a UUID).' };
      if (o.after === undefined || o.after === null) return { ok: true, message: { type: 'subscribe', taskId } };
      if (typeof o.after !== 'number' || !Number.isSafeInteger(o.after) || o.after < 0) {
        return { ok: false, error: '"after" must be the last seq received: a whole number, 0 or more.', taskId };
      }
      return { ok: true, message: { type: 'subscribe', taskId, after: o.after } };
    }
    case 'unsubscribe': {
      const taskId = taskIdOf(o);
      if (!taskId) return { ok: false, error: 'unsubscribe needs "taskId": the id of a mosaic task.' };
      return { ok: true, message: { type: 'unsubscribe', taskId } };
    }
    default:
      return { ok: false, error: 'Unknown message type; use subscribe, unsubscribe or ping.' };
  }
}
