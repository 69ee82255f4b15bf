/**
 * JSON Schema of the config file, for editors (yaml-language-server) and external linting.
 * Generated from the zod schema so it cannot drift; cross-key checks are not expressible in it.
 */
import { z } from 'zod';
import { ConfigSchema } from './schema.js';

export function configJsonSchema(): Record<string, unknown> {
  // io 'input': keys with defaults are optional in the file, unlike in the parsed Config.
  return {
    ...z.toJSONSchema(ConfigSchema, { io: 'input' }),
    title: 'aaaproxy configuration',
  };
}
