/**
 * LDAP backend failover through the daemon, driven by radclient: the primary slapd stopped,
 * then stalled (SIGSTOP): the backup serves within the connection timeout plus one try; the
 * primary serves again once it is back (failback); the backup service account binds when the
 * primary account is refused; server states in metrics and GET /directories.
 */
import t from 'tap';
import { radclient, startDaemon } from '../helpers/daemon.js';
import { ldapGroup, ldapUser, startSlapd } from '../helpers/slapd.js';

const LDIF = ldapUser({ uid: 'alice', password: 'alice-pass' }) + ldapUser({ uid: 'svc', password: 'svc-pass' }) + ldapGroup('staff', ['alice']);
const [s1, s2] = await Promise.all([startSlapd(t, { ldif: LDIF, name: 'slapd-primary' }), startSlapd(t, { ldif: LDIF, name: 'slapd-backup' })]);

const CONNECT_S = 1;
const OPERATION_S = 1;
const daemon = await startDaemon(t, {
  users: 'users: {}\n',
  extraConfig: `
ldap_directories:
  - name: corp
    urls: ["${s1.url}", "${s2.url}"]
    bind_dn: "${s1.rootDn}"
    bind_password: "${s1.rootPassword}"
    base_dn: "ou=people,${s1.suffix}"
    connect_timeout_seconds: ${CONNECT_S}
    operation_timeout_seconds: ${OPERATION_S}
    retry_seconds: 1
    roles: [{ name: staff, match: { groups: ["cn=staff,ou=groups,${s1.suffix}"] }, reply: { Filter-Id: staff } }]
  - name: backup-account
    urls: ["${s2.url}"]
    bind_dn: "${s2.rootDn}"
    bind_password: "not-the-root-password"
    backup_bind_dn: "uid=svc,ou=people,${s2.suffix}"
    backup_bind_password: svc-pass
    base_dn: "ou=people,${s2.suffix}"
    connect_timeout_seconds: 1
    operation_timeout_seconds: 1
routes:
  - { realm: corp.example, strip_realm: true, auth: "ldap:corp" }
  - { realm: backup.example, strip_realm: true, auth: "ldap:backup-account" }
`,
});

/** One Access-Request; which slapd saw alice's bind; how long it took. */
async function login(realm = 'corp.example', timeout = 5): Promise<{ code: string; by: string[]; ms: number; filterId?: string | undefined }> {
  const marks = [s1.logs().length, s2.logs().length];
  const started = Date.now();
  const r = await radclient({ port: daemon.authPort, secret: daemon.secret, type: 'auth', attrs: `User-Name = "alice@${realm}", User-Password = "alice-pass"`, timeout, retries: 1 });
  const ms = Date.now() - started;
  await new Promise((res) => setTimeout(res, 100));
  const by = [s1, s2].filter((s, i) => /BIND dn="uid=alice,ou=people,dc=example,dc=test"/.test(s.logs().slice(marks[i]))).map((s) => (s === s1 ? 'primary' : 'backup'));
  return { code: r.code, by, ms, filterId: r.replyAttrs['Filter-Id'] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const state = (url: string) => daemon.metric('aaaproxy_upstream_state', { server: `ldap:corp ${url}`, state: 'dead' });

t.test('the primary serves while it answers', async (t) => {
  const r = await login();
  t.match(r, { code: 'Access-Accept', by: ['primary'], filterId: 'staff' });
});

t.test('primary stopped: the backup serves at once; failback when the primary returns', async (t) => {
  await s1.stop();
  t.teardown(() => s1.start());
  const r = await login();
  t.match(r, { code: 'Access-Accept', by: ['backup'] });
  t.ok(r.ms < 1500, `a refused connection costs no timeout (${r.ms} ms)`);
  t.equal(await state(s1.url), 1, 'the primary is dead (aaaproxy_upstream_state)');
  const dirs = JSON.parse((await daemon.admin('GET', '/directories')).body) as { name: string; servers: { url: string; state: string }[] }[];
  t.same(dirs.find((d) => d.name === 'corp')?.servers, [
    { url: s1.url, state: 'dead' },
    { url: s2.url, state: 'alive' },
  ]);
  t.match(await login(), { code: 'Access-Accept', by: ['backup'] }, 'the dead primary is skipped');

  await s1.start();
  await sleep(1100); // retry_seconds
  t.match(await login(), { code: 'Access-Accept', by: ['primary'] }, 'failback: the primary serves again');
  t.equal(await state(s1.url), 0);
  t.ok(daemon.logs.some((l) => l.msg === 'LDAP server state' && l.url === s1.url && l.to === 'alive'), 'the return is logged');
});

t.test('primary stalled (SIGSTOP): the backup serves within the connection timeout plus one try', async (t) => {
  s1.pause();
  t.teardown(() => s1.resume());
  const r = await login('corp.example', 8);
  t.match(r, { code: 'Access-Accept', by: ['backup'] });
  // The TCP handshake completes (the kernel accepts for a stopped process), so the service bind
  // is what times out: at most the connection timeout plus the operation timeout, then one try at the backup.
  const bound = (CONNECT_S + OPERATION_S) * 1000 + 1000;
  t.ok(r.ms < bound, `answered in ${r.ms} ms (bound ${bound} ms)`);
  t.equal(await state(s1.url), 1);
  const again = await login();
  t.match(again, { code: 'Access-Accept', by: ['backup'] });
  t.ok(again.ms < 1000, `the stalled primary is skipped while dead (${again.ms} ms)`);

  s1.resume();
  await sleep(1100);
  t.match(await login(), { code: 'Access-Accept', by: ['primary'] }, 'failback after SIGCONT');
});

t.test('the backup service account binds when the primary account is refused', async (t) => {
  const r = await login('backup.example');
  t.match(r, { code: 'Access-Accept', by: ['backup'] });
  t.equal(await daemon.metric('aaaproxy_ldap_service_account', { directory: 'backup-account', account: 'backup' }), 1);
  t.equal(await daemon.metric('aaaproxy_ldap_service_account', { directory: 'backup-account', account: 'primary' }), 0);
  const line = daemon.logs.find((l) => l.directory === 'backup-account' && typeof l.msg === 'string' && l.msg.startsWith('LDAP service account'));
  t.match(line, { from: 'primary', to: 'backup', level: 40 }, 'logged at warn');
  t.notOk(JSON.stringify(daemon.logs).includes('not-the-root-password') || JSON.stringify(daemon.logs).includes('svc-pass'), 'no service password in the logs');
  const dirs = JSON.parse((await daemon.admin('GET', '/directories')).body) as { name: string; service_account: string }[];
  t.equal(dirs.find((d) => d.name === 'backup-account')?.service_account, 'backup');
});
