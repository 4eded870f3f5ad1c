// Number formatting shared by the markdown and SVG reports.

export const ms = (x: number): string =>
  Number.isFinite(x) ? `${Math.round(x).toLocaleString('en-US')}` : '–';
export const msFine = (x: number): string => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : '–');
export const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');
export const num = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');
export const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
