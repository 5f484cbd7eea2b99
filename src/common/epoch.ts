/** PostgreSQL prints epochs with six decimals; drop the zeros so whole seconds stay integers. */
export function trimEpoch(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}
