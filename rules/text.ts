/** Column limits for text the store keeps (UTF-16 code units, like Dataverse's own MaxLength). */
export const TEXT_LIMITS = {
  short: 255,
  description: 32_000,
  errorPayload: 4_000,
} as const;

/** Cuts `text` to at most `max` UTF-16 code units without splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  // A high surrogate at the cut would leave half a character (an unpaired surrogate) behind.
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return text.slice(0, end);
}
