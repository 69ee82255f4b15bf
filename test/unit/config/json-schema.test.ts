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
