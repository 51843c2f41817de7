// .ci/system-packages (`npm run setup:system`) against apt configurations in temporary folders:
// APT_CONFIG points apt-config at them, and stand-ins for apt-get, id and dpkg-query on the PATH
// record what would be installed instead of touching this machine.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../.ci/system-packages', import.meta.url));
const codename = (() => {
  try {
    return /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    return '';
  }
})();
const HAVE_APT = spawnSync('apt-config', ['dump'], { stdio: 'ignore' }).status === 0;

interface Setup { sources?: Record<string, string>; uid?: number; mesa?: string; noAptGet?: boolean }

function run(s: Setup): { status: number | null; stderr: string; stdout: string; apt: string[]; parts: Record<string, string> } {
  const root = mkdtempSync(join(tmpdir(), 'simreal-apt-'));
  const etc = join(root, 'etc/apt');
  mkdirSync(join(etc, 'sources.list.d'), { recursive: true });
  mkdirSync(join(etc, 'apt.conf.d'), { recursive: true });
  for (const [name, text] of Object.entries(s.sources ?? {})) writeFileSync(join(etc, name), text);
  writeFileSync(join(root, 'apt.conf'), `Dir::Etc "${etc}/";\n`);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const log = join(root, 'apt.log');
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  if (!s.noAptGet) stub('apt-get', `echo "$*" >> ${log}`);
  stub('id', `echo ${s.uid ?? 0}`);
  stub('dpkg-query', `printf '%s' '${s.mesa ?? '25.0.7-2~bpo12+1'}'`);
  // Without apt-get: nothing on the PATH but the stand-ins (the script checks for apt first).
  const env = { ...process.env, APT_CONFIG: join(root, 'apt.conf'), PATH: s.noAptGet ? bin : `${bin}:${process.env.PATH}` };
  const r = spawnSync('/bin/bash', [SCRIPT], { env, encoding: 'utf8' });
  const parts = Object.fromEntries(readdirSync(join(etc, 'sources.list.d')).map((f) => [f, readFileSync(join(etc, 'sources.list.d', f), 'utf8')]));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, apt: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [], parts };
}

const DEB822 = `Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;
const INSTALLS = ['update -qq', 'install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1', 'install -y -qq chromium fonts-dejavu-core openssl ffmpeg'];

describe.skipIf(!HAVE_APT)('npm run setup:system (.ci/system-packages)', () => {
  it.runIf(codename === 'bookworm')('adds bookworm-backports on the configured deb822 mirror and installs every package', () => {
    const r = run({ sources: { 'sources.list.d/debian.sources': DEB822 } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.parts['bookworm-backports.sources']).toBe('Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n');
    expect(r.apt).toEqual(INSTALLS);
    expect(r.stdout).toMatch(/added bookworm-backports on http:\/\/mirror\.example\/debian /);
  });

  it.runIf(codename === 'bookworm')('adds it as a one-line entry, with the same options, on a machine with a one-line sources.list', () => {
    const r = run({ sources: { 'sources.list': '# comment\ndeb-src http://src.example/debian bookworm main\ndeb [signed-by=/etc/keys/debian.gpg] http://mirror.example/debian bookworm main contrib\n' } });
    expect(r.status).toBe(0);
    expect(r.parts).toEqual({ 'bookworm-backports.list': 'deb [signed-by=/etc/keys/debian.gpg] http://mirror.example/debian bookworm-backports main\n' });
    expect(r.apt).toEqual(INSTALLS);
  });

  it.runIf(codename === 'bookworm')('leaves an existing backports entry alone', () => {
    const r = run({ sources: { 'sources.list.d/debian.sources': DEB822, 'sources.list.d/extra.list': 'deb http://mirror.example/debian bookworm-backports main\n' } });
    expect(r.status).toBe(0);
    expect(Object.keys(r.parts).sort()).toEqual(['debian.sources', 'extra.list']);
    expect(r.apt).toEqual(INSTALLS);
  });

  it('stops with a clear message, installing nothing, when no Debian source is configured', () => {
    const r = run({ sources: { 'sources.list.d/other.sources': 'Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^setup:system: no Debian source for ${codename} is configured .*Add your Debian mirror`));
    expect(r.apt).toEqual([]);
    expect(Object.keys(r.parts)).toEqual(['other.sources']);
  });

  it('refuses to run as another user than root, and without apt-get', () => {
    const user = run({ sources: { 'sources.list.d/debian.sources': DEB822 }, uid: 1000 });
    expect(user.status).toBe(1);
    expect(user.stderr).toBe('setup:system: installing packages needs root: run `sudo npm run setup:system` (or `sudo .ci/system-packages`).\n');
    expect(user.apt).toEqual([]);
    const noApt = run({ noAptGet: true });
    expect(noApt.status).toBe(1);
    expect(noApt.stderr).toMatch(/^setup:system: apt-get not found: this installs Debian 12 \(bookworm\) packages with apt/);
  });

  it.runIf(codename === 'bookworm')('fails when the Mesa it installed is older than Dawn accepts', () => {
    const r = run({ sources: { 'sources.list.d/debian.sources': DEB822 }, mesa: '22.3.6-1+deb12u1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/mesa-vulkan-drivers 22\.3\.6-1\+deb12u1 is installed, but Dawn needs Mesa >= 24/);
  });
});
