import t from 'tap';
import { configJsonSchema } from '../../../src/config/json-schema.js';

t.test('JSON Schema describes the file as written (defaults optional)', async (t) => {
  const s = configJsonSchema() as any;
  t.equal(s.type, 'object');
  t.same([...s.required].sort(), ['accounting', 'clients', 'listeners', 'local_users']);
  t.equal(s.additionalProperties, false);
  t.same(s.properties.clients.items.required, ['name', 'address', 'secret']);
  t.equal(s.properties.admin.properties.port.default, 9812);
});

t.test('the shipped conf/aaaproxy.schema.json matches the schema (npm run schema regenerates it)', async (t) => {
  const { readFileSync } = await import('node:fs');
  const shipped = JSON.parse(readFileSync(new URL('../../../../conf/aaaproxy.schema.json', import.meta.url), 'utf8')) as unknown;
  t.same(shipped, JSON.parse(JSON.stringify(configJsonSchema())));
});
