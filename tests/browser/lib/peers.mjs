// Real iSCSI peers for the browser tests: a held libiscsi session
// (tests/browser/held_session.cc) and shell commands copied from the page.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { env } from './env.mjs';

// One held login. Resolves once the program printed "logged-in"; rejects when
// it exits first or takes more than 15 s.
//   session.logout()   asks it to log out; resolves with its exit code
//   session.ended      promise of { code, lines } when the program exits
export function holdSession(url, initiatorName) {
  const child = spawn(env.heldSessionBin, [url, initiatorName], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  let onLine = () => {};
  const rl = readline.createInterface({ input: child.stdout });
  rl.on('line', (line) => { lines.push(line); onLine(line); });
  child.stderr.on('data', (d) => lines.push(`stderr: ${String(d).trimEnd()}`));
  const ended = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, lines }));
    // Not started at all (no such file): 'exit' never comes.
    child.on('error', (err) => { lines.push(`spawn: ${err.message}`); resolve({ code: 'spawn-error', signal: null, lines }); });
  });
  // The held program gives up by itself after 120 s; this is the backstop
  // (unref: it must not keep a finished test file's process alive).
  const killer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  killer.unref();
  ended.then(() => clearTimeout(killer));
  const session = {
    child,
    lines,
    ended,
    async logout() {
      if (child.exitCode === null) child.stdin.end('logout\n');
      const r = await Promise.race([ended, new Promise((res) => setTimeout(() => res(null), 15_000))]);
      if (r === null) { child.kill('SIGKILL'); return { code: 'timeout', lines }; }
      return r;
    },
    kill() { if (child.exitCode === null) child.kill('SIGKILL'); },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no login within 15 s: ${lines.join(' | ')}`)); }, 15_000);
    onLine = (line) => {
      if (line.startsWith('logged-in')) { clearTimeout(timer); session.loggedInAt = Date.now(); resolve(session); }
    };
    ended.then(({ code }) => { clearTimeout(timer); reject(new Error(`held_session exited ${code} before login: ${lines.join(' | ')}`)); });
  });
}

// Runs `command` with /bin/sh exactly as a user pasting it would; bounded.
export function runShell(command, timeoutMs = 30_000) {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout: out, stderr: err }); });
    child.on('error', (e) => { clearTimeout(timer); resolve({ code: 'spawn-error', signal: null, stdout: out, stderr: e.message }); });
  });
}

// An InitiatorName nobody else in this run uses.
export function uniqueInitiator(label) {
  return `iqn.2026-12.test.browser:${label}-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
}
