/**
 * RFC 4515 §3 value escaping for search filters built from templates. Pure, no I/O.
 */

/**
 * Escapes an assertion value for a string filter. RFC 4515 §3: the octets NUL, '(', ')', '*'
 * and '\' MUST be written as '\' followed by two hex digits (\00 \28 \29 \2a \5c). Other
 * characters stay as they are (UTF-8 is valid in a string filter).
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\0()*\\]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Fills `{name}` placeholders of a filter template with escaped values, e.g.
 * fillFilter('(uid={user})', { user: '*)(uid=*' }) === '(uid=\\2a\\29\\28uid=\\2a)'.
 * A placeholder with no value is an error (a config mistake, caught before any search).
 */
export function fillFilter(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-z]+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`filter template: no value for {${name}}`);
    return escapeFilterValue(v);
  });
}
