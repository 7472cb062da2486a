/**
 * The strings of a mock's own pages: a tester's tool, in English with the upstream's own language as a
 * subtitle (Norwegian for ID-porten, Swedish for BankID). They stay apart from the service's message
 * catalogue, which is for the people who log in to our service.
 */
export type Bilingual<L extends string> = { en: string } & { [K in L]: string };

/** Replaces `{name}` placeholders in every language of a message. */
export function fill<L extends string>(message: Bilingual<L>, params: Record<string, string>): Bilingual<L> {
  const entries = Object.entries(message as Record<string, string>).map(([lang, text]) => [lang, text.replace(/\{(\w+)\}/g, (whole, key: string) => params[key] ?? whole)]);
  return Object.fromEntries(entries) as Bilingual<L>;
}
