/**
 * How much CPU the event-loop thread gets, from the kernel's scheduler statistics
 * (/proc/thread-self/schedstat, Linux): the time it ran, and the time it was ready to run
 * but waited for a core. Every request goes through that one thread, so the wait adds
 * straight to latency: on a loaded 2-core machine it waited about as long as it ran
 * (README, Benchmark). A growing wait says the host, not aaaproxy, is the bottleneck.
 */
import { readFileSync } from 'node:fs';
import { Counter, type Registry } from 'prom-client';

export interface SchedStat {
  /** Nanoseconds on a CPU. */
  runNs: number;
  /** Nanoseconds runnable but waiting on a run queue. */
  waitNs: number;
}

/** The first two fields of a schedstat line ("run wait timeslices"); undefined when it is not one. */
export function parseSchedStat(text: string): SchedStat | undefined {
  const m = /^(\d+) (\d+) \d+\s*$/.exec(text);
  if (!m) return undefined;
  return { runNs: Number(m[1]), waitNs: Number(m[2]) };
}

/** The calling thread's figures, or undefined off Linux or without schedstats. */
export function readOwnSchedStat(): SchedStat | undefined {
  try {
    return parseSchedStat(readFileSync('/proc/thread-self/schedstat', 'latin1'));
  } catch {
    return undefined;
  }
}

/**
 * Registers the two counters when the kernel provides the figures. They are read at scrape
 * time, which runs on the event-loop thread, so they describe that thread.
 */
export function registerCpuWaitMetrics(registry: Registry): boolean {
  const first = readOwnSchedStat();
  if (!first) return false;
  let last = first;
  const refresh = (): void => {
    const now = readOwnSchedStat();
    if (!now) return;
    run.inc(Math.max(0, now.runNs - last.runNs) / 1e9);
    wait.inc(Math.max(0, now.waitNs - last.waitNs) / 1e9);
    last = now;
  };
  const run = new Counter({
    name: 'aaaproxy_event_loop_cpu_seconds_total',
    help: 'Time the event-loop thread ran on a CPU (Linux schedstat), counted from start.',
    registers: [registry],
    collect: refresh,
  });
  const wait = new Counter({
    name: 'aaaproxy_event_loop_cpu_wait_seconds_total',
    help: 'Time the event-loop thread was ready to run but waited for a CPU (Linux schedstat): the host was busy.',
    registers: [registry],
    collect: refresh,
  });
  // Everything before registration counts too (start-up).
  run.inc(first.runNs / 1e9);
  wait.inc(first.waitNs / 1e9);
  return true;
}
