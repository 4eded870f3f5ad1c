/**
 * session-hash: the rendezvous winner for `sessionKey` among the candidates, so a session sticks
 * to one pod on every replica and moves only when that pod leaves; scores are ignored. Calls
 * without a session key (absent or empty) fall back to max-score.
 */
import { rendezvousPick } from '../rendezvous.ts';
import type { Picker, PodSnapshot, SchedulingRequest } from '../types.ts';
import { pickMaxScore } from './max-score.ts';

export const sessionHashPicker: Picker = {
  name: 'session-hash',
  pick(request: SchedulingRequest, pods: readonly PodSnapshot[], scores: readonly number[]) {
    const key = request.sessionKey;
    if (key === undefined || key === '') return pickMaxScore(request, pods, scores);
    return rendezvousPick(key, pods);
  },
};
