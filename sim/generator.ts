// Deterministic output text. Token k of a response is a function of (seed, prompt hash, k)
// only, so the same request always gets the same answer and tokens can be produced in any
// order. Every piece is one token under tokenizer.ts (a space and a word of at most six
// letters, or a lone punctuation mark), so re-tokenizing the text gives the same count.

import { mix2, mix3 } from './hash.ts';

const WORDS = (
  'the of and to in is that for it as was with be by on not this are or from at which an have has ' +
  'but were can all their we one there its these more other been would into some could time than ' +
  'also two may then first any only new such most used each where over after data model cache ' +
  'agent token prompt answer result value system step task plan search query source report review ' +
  'draft final next order state memory output input signal method number small large simple clear ' +
  'common useful better likely given based shared known should while under about during before ' +
  'again still here both same show make find use take keep check note build test read write return ' +
  'change follow group point case part form level rate cost load pod route batch queue block ' +
  'prefix reuse share'
).split(' ');

const PERIOD_EVERY = 9;
const COMMA_EVERY = 7;

/** A per-request key: the same prompt and seed always give the same output. */
export function outputKey(seed: number, promptHash: number): number {
  return mix2(seed >>> 0, promptHash);
}

function punctuation(key: number, index: number): string | undefined {
  // Only odd positions may be punctuation, so two marks never follow each other.
  if (index % 2 === 0) return undefined;
  const draw = mix3(key, index, 0x51ed27);
  if (draw % PERIOD_EVERY === 0) return '.';
  if (draw % COMMA_EVERY === 0) return ',';
  return undefined;
}

/** Text of output token `index` (0-based) of the response identified by `key`. */
export function outputToken(key: number, index: number): string {
  const mark = punctuation(key, index);
  if (mark !== undefined) return mark;
  const word = WORDS[mix3(key, index, 0x2f6b1d) % WORDS.length] as string;
  const capital = index === 0 || punctuation(key, index - 1) === '.';
  return ' ' + (capital ? word.charAt(0).toUpperCase() + word.slice(1) : word);
}

/** Hash of a prompt's token ids (what output text is keyed on). */
export function promptHash(tokens: ArrayLike<number>): number {
  let h = 0x6a09e667;
  for (let i = 0; i < tokens.length; i++) h = mix2(h, tokens[i] ?? 0);
  return h;
}
