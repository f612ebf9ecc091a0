/**
 * Certificates generated at test time with openssl (P-256 keys: fast to make): one throwaway CA per
 * directory, and leaf certificates it signs for chosen names. Nothing is committed, nothing outlives the
 * temp directory. Also TLS client probes that report what a handshake produced.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 15_000 });
}

export interface TestCa {
  /** PEM of the CA certificate, for clients' `ca` option. */
  readonly pem: string;
  /**
   * Writes `<name>.pem` and `<name>.key` signed by this CA, for `commonName` with `altNames` (DNS names and
   * IP addresses) as subjectAltName. Each file lands by rename, as cert tooling replaces them.
   */
  issue(name: string, commonName: string, altNames: readonly string[]): { cert: string; key: string };
}

export function createTestCa(dir: string): TestCa {
  openssl(dir, ['req', '-x509', ...KEY, '-days', '2', '-subj', '/CN=Gatehouse TLS Test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  let serial = 0;
  return {
    pem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    issue(name, commonName, altNames) {
      const tmp = `.issue-${++serial}`;
      const san = altNames.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      writeFileSync(join(dir, `${tmp}.ext`), `subjectAltName=${san}\n`);
      openssl(dir, ['req', ...KEY, '-subj', `/CN=${commonName}`, '-keyout', `${tmp}.key`, '-out', `${tmp}.csr`]);
      openssl(dir, ['x509', '-req', '-in', `${tmp}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
        '-extfile', `${tmp}.ext`, '-out', `${tmp}.pem`]);
      const cert = join(dir, `${name}.pem`);
      const key = join(dir, `${name}.key`);
      renameSync(join(dir, `${tmp}.key`), key);
      renameSync(join(dir, `${tmp}.pem`), cert);
      return { cert, key };
    },
  };
}

export interface Handshake {
  /** The subject CN of the certificate the server presented. */
  readonly commonName: string;
  readonly alpn: string | false | null;
  readonly protocol: string | null;
}

/** One TLS handshake with 127.0.0.1:`port` (closed right after); rejects with the handshake error after `timeoutMs`. */
export function handshake(port: number, options: tls.ConnectionOptions = {}, timeoutMs = 5000): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake with port ${port} in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cn = socket.getPeerCertificate().subject?.CN;
      resolve({ commonName: Array.isArray(cn) ? cn.join(',') : cn ?? '', alpn: socket.alpnProtocol, protocol: socket.getProtocol() });
      socket.destroy();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}
