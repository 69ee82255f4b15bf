/** The dictionaries shipped in dictionaries/, plus an admin's own files or directories. */
import { fileURLToPath } from 'node:url';
import { Dictionary } from './dictionary.js';

export const BUILTIN_DICTIONARY = fileURLToPath(new URL('../../../dictionaries/dictionary', import.meta.url));

export function loadDictionary(extra: readonly string[]): Dictionary {
  const dict = new Dictionary();
  dict.load(BUILTIN_DICTIONARY);
  for (const path of extra) dict.load(path);
  return dict;
}
