// A deterministic stand-in for a BPE tokenizer. It only has to be cheap, stable and about
// as dense as Llama 3's on English (~4 characters per token), and it must be prefix-stable:
// two texts that share a prefix up to a word boundary share the same leading token ids,
// which is what makes prefix caching behave as it does with the real tokenizer.
//
// Rules, applied left to right:
// - a special marker `<|name|>` (name of word characters, up to 32) is one token;
// - a word (letters and non-ASCII characters), with at most one leading space glued to
//   it, is cut into pieces of up to WORD_PIECE characters;
// - digits come in groups of up to three (as Llama 3 does), the leading space glued on;
// - any other whitespace run is cut into pieces of up to WHITESPACE_PIECE characters;
// - every other character (punctuation, symbols) is a token by itself.
// A token's id is the FNV-1a hash of its characters, so equal pieces have equal ids.

const WORD_PIECE = 7;
const DIGIT_PIECE = 3;
const WHITESPACE_PIECE = 4;
const SPECIAL_NAME_MAX = 32;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

const LETTER = 1;
const DIGIT = 2;
const SPACE = 3;
const OTHER = 4;

function charClass(c: number): number {
  if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) return LETTER;
  if (c >= 48 && c <= 57) return DIGIT;
  if (c === 32 || c === 10 || c === 9 || c === 13) return SPACE;
  if (c >= 128) return c === 0xa0 || c === 0x2028 || c === 0x2029 ? SPACE : LETTER;
  return OTHER;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/** Length of a `<|name|>` marker starting at `i`, or 0 when there is none. */
function specialLength(text: string, i: number): number {
  if (text.charCodeAt(i + 1) !== 124) return 0;
  let j = i + 2;
  const limit = Math.min(text.length, j + SPECIAL_NAME_MAX);
  while (j < limit && isNameChar(text.charCodeAt(j))) j++;
  if (j === i + 2 || text.charCodeAt(j) !== 124 || text.charCodeAt(j + 1) !== 62) return 0;
  return j + 2 - i;
}

function hashRange(text: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let k = start; k < end; k++) h = Math.imul(h ^ text.charCodeAt(k), FNV_PRIME);
  return h >>> 0;
}

/** Token ids of `text`. Deterministic, allocation-light, linear in the text's length. */
export function tokenize(text: string): Uint32Array {
  const out = new Uint32Array(text.length);
  let n = 0;
  let i = 0;
  const len = text.length;
  while (i < len) {
    const c = text.charCodeAt(i);
    if (c === 60) {
      const special = specialLength(text, i);
      if (special > 0) {
        out[n++] = hashRange(text, i, i + special);
        i += special;
        continue;
      }
    }
    let cls = charClass(c);
    let start = i;
    if (c === 32 && i + 1 < len) {
      const next = charClass(text.charCodeAt(i + 1));
      if (next === LETTER || next === DIGIT) {
        // The space belongs to the word after it, as in GPT-style pre-tokenizers.
        cls = next;
        i++;
      }
    }
    if (cls === LETTER || cls === DIGIT) {
      const piece = cls === LETTER ? WORD_PIECE : DIGIT_PIECE;
      // The glued space counts towards the first piece's length.
      let pieceStart = start;
      while (i < len && charClass(text.charCodeAt(i)) === cls) {
        i++;
        if (i - pieceStart === piece) {
          out[n++] = hashRange(text, pieceStart, i);
          pieceStart = i;
        }
      }
      if (i > pieceStart) out[n++] = hashRange(text, pieceStart, i);
    } else if (cls === SPACE) {
      while (i < len && charClass(text.charCodeAt(i)) === SPACE) {
        // Leave a final plain space for the word that follows it.
        if (text.charCodeAt(i) === 32 && i + 1 < len && i > start) {
          const next = charClass(text.charCodeAt(i + 1));
          if (next === LETTER || next === DIGIT) break;
        }
        i++;
        if (i - start === WHITESPACE_PIECE) {
          out[n++] = hashRange(text, start, i);
          start = i;
        }
      }
      if (i > start) out[n++] = hashRange(text, start, i);
    } else {
      i++;
      out[n++] = hashRange(text, start, i);
    }
  }
  return out.subarray(0, n);
}

/** Number of tokens in `text` (same rules as `tokenize`). */
export function countTokens(text: string): number {
  return tokenize(text).length;
}
