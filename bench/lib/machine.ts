/** What the figures were measured on, so a number is never read without its machine. */
import { cpus, release, totalmem, type as osType } from 'node:os';
import { readFileSync } from 'node:fs';
import type { MachineInfo } from './types.ts';
import { rabbitmqVersion } from './broker.ts';

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (pretty) return `${pretty} (${osType()} ${release()})`;
  } catch {
    // not Linux, or a minimal image
  }
  return `${osType()} ${release()}`;
}

export async function machineInfo(amqpUrl: string): Promise<MachineInfo> {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    node: process.version,
    rabbitmq: await rabbitmqVersion(amqpUrl),
  };
}
