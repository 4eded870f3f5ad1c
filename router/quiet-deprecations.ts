/**
 * http-proxy 1.18 (a required dependency, unmaintained since 2020) calls `util._extend` on every
 * proxied call, so each router process printed Node's DEP0060 deprecation warning once: noise
 * that names nothing an operator can act on. Only that code is dropped; every other warning,
 * deprecations included, still prints.
 */
type EmitWarning = (warning: string | Error, ...rest: unknown[]) => void;

const QUIETED = new Set(['DEP0060']);

/** The code of a warning: emitWarning(w, type, code, ctor) or emitWarning(w, { code }). */
function codeOf(rest: readonly unknown[]): unknown {
  const first = rest[0];
  if (typeof first === 'object' && first !== null && 'code' in first) return first.code;
  return rest[1];
}

export function quietDependencyDeprecations(): void {
  const emit = process.emitWarning.bind(process) as EmitWarning;
  const filtered: EmitWarning = (warning, ...rest) => {
    const code = codeOf(rest);
    if (typeof code === 'string' && QUIETED.has(code)) return;
    emit(warning, ...rest);
  };
  (process as { emitWarning: EmitWarning }).emitWarning = filtered;
}
