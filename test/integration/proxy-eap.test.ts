// 802.1X through the proxy: eapol_test as the NAS/supplicant, FreeRADIUS as the EAP server.
// The MPPE keys the NAS receives must match the MSK the supplicant derived (eapol_test checks).
import t from 'tap';
import { startDaemon } from '../helpers/daemon.js';
import { eapolTest } from '../helpers/eapol.js';
import { startFreeRadius, UPSTREAM_SECRET } from '../helpers/freeradius.js';

const upstream = await startFreeRadius(t, {
  users: 'dot1x Cleartext-Password := "dot1x-pw"\n\tTunnel-Type = VLAN, Tunnel-Medium-Type = IEEE-802, Tunnel-Private-Group-Id = "120"\n',
  defaultEapType: 'peap',
});
const daemon = await startDaemon(t, {
  users: 'users: {}\n',
  extraConfig: `
upstreams:
  - { name: eap, address: 127.0.0.1, auth_port: ${upstream.authPort}, acct_port: ${upstream.acctPort}, secret: ${UPSTREAM_SECRET} }
pools:
  - { name: dot1x, servers: [eap] }
routes:
  - { auth: dot1x }
`,
});

for (const config of ['peap-mschapv2', 'ttls-pap'] as const) {
  t.test(`${config} through aaaproxy`, async (t) => {
    const r = await eapolTest({
      port: daemon.authPort,
      secret: daemon.secret,
      config,
      identity: 'dot1x',
      password: 'dot1x-pw',
      caCert: upstream.certs.caCert,
    });
    t.ok(r.success, 'EAP success', { output: r.output.slice(-3000) });
    t.ok(r.mppeKeysMatch, 'MS-MPPE keys re-encrypted for the NAS match the supplicant MSK');
    t.ok(r.accessRequests > 2, `a multi-round conversation (${r.accessRequests} Access-Requests) completed`);
    const accept = r.finalReply?.attributes ?? [];
    t.ok(accept.some((a) => a.name === 'Tunnel-Private-Group-Id' || a.type === 81), 'the VLAN reaches the NAS');
  });
}
