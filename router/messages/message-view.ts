import type { AgentMessage } from '../../core/store/records.ts';

/** A message as the API shows it (cursor reads, long polls and SSE events alike). */
export function messageView(m: AgentMessage) {
  return {
    id: m.id,
    from_agent: m.from,
    to_agent: m.to,
    payload: m.payload,
    created_at: new Date(m.createdAt).toISOString(),
    expires_at: new Date(m.expiresAt).toISOString(),
  };
}
