/**
 * Redaction of known secret values from text (errors, outputs): every occurrence of each value is
 * replaced by its label, longest values first, so a value that contains another is caught whole.
 * Empty values are skipped.
 */
export function redactorOf(values: ReadonlyArray<{ value: string; label: string }>): (text: string) => string {
  const ordered = values.filter((v) => v.value !== "").sort((a, b) => b.value.length - a.value.length);
  return (text) => ordered.reduce((t, v) => t.split(v.value).join(v.label), text);
}
