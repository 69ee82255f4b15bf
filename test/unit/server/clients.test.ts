import t from 'tap';
import { ClientTable } from '../../../src/server/clients.js';
import type { ClientConfig } from '../../../src/config/schema.js';

function client(name: string, address: string, extra: Partial<ClientConfig> = {}): ClientConfig {
  return { name, address, secret: 's', require_message_authenticator: 'auto', limit_proxy_state: 'auto', ...extra };
}

t.test('exact host beats prefix; longest prefix wins', async (t) => {
  const table = new ClientTable([
    client('wide', '10.0.0.0/8'),
    client('narrow', '10.1.0.0/16'),
    client('host', '10.1.2.3'),
    client('v6net', '2001:db8::/32'),
    client('v6host', '2001:db8::1/128'),
  ]);
  t.equal(table.lookup('10.1.2.3')?.name, 'host');
  t.equal(table.lookup('10.1.9.9')?.name, 'narrow');
  t.equal(table.lookup('10.200.0.1')?.name, 'wide');
  t.equal(table.lookup('11.0.0.1'), undefined);
  t.equal(table.lookup('2001:db8:0:0::1')?.name, 'v6host', 'IPv6 hosts match whatever the text form');
  t.equal(table.lookup('2001:db8:ffff::5')?.name, 'v6net');
  t.equal(table.lookup('2001:db9::1'), undefined);
});

t.test('BlastRADIUS yes/no settings', async (t) => {
  const strict = new ClientTable([client('c', '192.0.2.1', { require_message_authenticator: 'yes', limit_proxy_state: 'no' })]).lookup('192.0.2.1')!;
  t.equal(strict.checkAccessRequestPolicy(false, false), 'missing_message_authenticator');
  t.equal(strict.checkAccessRequestPolicy(true, true), undefined);
  const limit = new ClientTable([client('c', '192.0.2.1', { require_message_authenticator: 'no', limit_proxy_state: 'yes' })]).lookup('192.0.2.1')!;
  t.equal(limit.checkAccessRequestPolicy(false, false), undefined);
  t.equal(limit.checkAccessRequestPolicy(false, true), 'proxy_state_without_message_authenticator');
  t.equal(limit.checkAccessRequestPolicy(true, true), undefined);
});

t.test('auto learns from the first Access-Request', async (t) => {
  const withMac = new ClientTable([client('c', '192.0.2.1')]).lookup('192.0.2.1')!;
  t.equal(withMac.checkAccessRequestPolicy(true, false), undefined);
  t.equal(withMac.checkAccessRequestPolicy(false, false), 'missing_message_authenticator', 'once sent, always required');

  const nas = new ClientTable([client('c', '192.0.2.1')]).lookup('192.0.2.1')!;
  t.equal(nas.checkAccessRequestPolicy(false, false), undefined, 'first packet without MAC is served');
  t.equal(nas.checkAccessRequestPolicy(false, true), 'proxy_state_without_message_authenticator', 'a NAS does not send Proxy-State');

  const proxy = new ClientTable([client('c', '192.0.2.1')]).lookup('192.0.2.1')!;
  t.equal(proxy.checkAccessRequestPolicy(false, true), undefined, 'a proxy client is recognised by its first Proxy-State');
  t.equal(proxy.checkAccessRequestPolicy(false, true), undefined);
});
