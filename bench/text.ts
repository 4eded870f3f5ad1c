// Deterministic filler text of an exact token count under the simulator's tokenizer
// (sim/tokenizer.ts): every piece appended below is exactly one token there (a word of at
// most six letters with its leading space, a lone period, or a paragraph break), so the
// count is known without tokenizing and two texts from different seeds differ from their
// first word, sharing no KV block by accident.

import type { Rng } from './rng.ts';

const WORDS = (
  'market supply demand price policy budget growth region sector export import tariff labor ' +
  'wage energy carbon grid solar wind storage cable port harbor rail road fleet cargo route ' +
  'vendor client order ticket claim audit risk credit loan bond equity yield rate index fund ' +
  'patent design sensor signal device chip memory server cloud query table schema record field ' +
  'doctor clinic trial dose safety study cohort sample metric target result outcome review ' +
  'court ruling clause party notice breach remedy damage appeal filing judge statute ' +
  'river basin flood rain soil crop field yield water well pump canal levee delta coast ' +
  'plan draft memo brief report chart figure annex note page topic issue answer'
)
  .split(' ')
  .filter((w) => w.length <= 6);

/** A text of exactly `tokens` tokens (>= 1): sentences of words, a paragraph break now and then. */
export function fillerText(rng: Rng, tokens: number): string {
  if (!Number.isInteger(tokens) || tokens < 1) throw new RangeError(`tokens must be a positive integer`);
  const parts: string[] = [];
  let sentence = 0;
  let paragraph = 0;
  let startOfLine = true;
  for (let n = 0; n < tokens; n++) {
    const remaining = tokens - n;
    if (!startOfLine && sentence >= 8 && remaining > 2 && rng.next() < 0.2) {
      parts.push('.');
      sentence = 0;
      paragraph++;
      continue;
    }
    if (sentence === 0 && paragraph >= 6 && remaining > 2 && !startOfLine) {
      parts.push('\n\n');
      paragraph = 0;
      startOfLine = true;
      continue;
    }
    const word = rng.pick(WORDS);
    const cased = sentence === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : word;
    parts.push(startOfLine ? cased : ` ${cased}`);
    startOfLine = false;
    sentence++;
  }
  return parts.join('');
}
