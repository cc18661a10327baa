// What the benchmark ran on: CPU, cores, memory, OS, Node, and the commit of the package.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';

function read(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function lscpuField(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name}:`));
  return line ? line.slice(name.length + 1).trim() : undefined;
}

/**
 * CPU time so far, in clock ticks: of the whole machine (busy, i.e. not idle or iowait) and of
 * this process with its waited-for children (the PyTorch runs).
 */
export function cpuSnapshot() {
  const cpu = read('/proc/stat').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  const busy = cpu.length >= 8 ? cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7] : NaN;
  const self = read('/proc/self/stat');
  const fields = self
    .slice(self.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // after the name: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
  const own = fields.length > 14 ? fields[11] + fields[12] + fields[13] + fields[14] : NaN;
  return { busy, own, at: Date.now() };
}

/**
 * Share of the machine's CPU capacity that other processes used between two snapshots (0..1):
 * 0 on a quiet machine; on 2 cores, 0.5 means another process kept a whole core busy.
 */
export function otherWork(start, end, cpus = availableParallelism()) {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const capacity = ((end.at - start.at) / 1000) * ticksPerSecond * cpus;
  const other = end.busy - start.busy - (end.own - start.own);
  return capacity > 0 && Number.isFinite(other) ? Math.max(0, other / capacity) : NaN;
}

/** The 1-minute load average: other work on the machine makes the figures noisy. */
export function loadAverage() {
  return Number(read('/proc/loadavg').split(' ')[0] || NaN);
}

/** The short commit of a checkout, with a mark when lib/ or native/ have uncommitted changes; 'unknown' outside git. */
export function commitOf(dir) {
  const commit = run('git', ['-C', dir, 'rev-parse', '--short', 'HEAD']);
  const dirty =
    commit &&
    run('git', ['-C', dir, 'status', '--porcelain', '--', 'lib', 'native', 'binding.gyp', 'CMakeLists.txt']) !== '';
  return commit ? `${commit}${dirty ? ' + uncommitted changes in lib/ or native/' : ''}` : 'unknown';
}

export function machineInfo() {
  const cpuinfo = read('/proc/cpuinfo');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '').split(/\s+/));
  const simd = ['sse4_2', 'avx2', 'fma', 'avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].filter((f) => flags.has(f));
  const lscpu = run('lscpu', []);
  const family = lscpuField(lscpu, 'CPU family');
  const os = /^PRETTY_NAME="?(.*?)"?$/m.exec(read('/etc/os-release'))?.[1] ?? process.platform;
  return {
    cpu: family ? `${model} (family ${family}, model ${lscpuField(lscpu, 'Model')})` : model,
    cpus: availableParallelism(),
    threadsPerCore: lscpuField(lscpu, 'Thread(s) per core'),
    coresPerSocket: lscpuField(lscpu, 'Core(s) per socket'),
    simd: simd.join(' '),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os,
    node: process.version,
    loadAtStart: loadAverage(),
    commit: commitOf('.'),
  };
}
