/** Results of `npm run bench -- rex`: JSON, a Markdown table (also in the README) and a chart. */
import type { MachineInfo } from './types.ts';
import { writeResultFiles } from './report.ts';
import { PLOT, chartFrame, escapeXml, niceMax } from './svg-frame.ts';

export interface RexBenchResults {
  readonly benchmark: 'rex';
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: Record<string, unknown>;
  readonly pull: { hosts: number; launchSec: number; allNotifiedSec: number; notifiedPerSec: number };
  readonly pullCycle: { jobs: number; certificateIdentities: number; allFinishedSec: number; finishedPerSec: number; hostErrors: number };
  readonly ssh: { hosts: number; concurrency: number; allFinishedSec: number; hostsPerSec: number; exitZero: number };
}

const one = (n: number): string => n.toFixed(1);

export function renderRexMarkdown(r: RexBenchResults): string {
  const m = r.machine;
  return [
    `# REX benchmark (${r.date.slice(0, 10)})`,
    '',
    `Machine: ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, RabbitMQ ${m.rabbitmq ?? '?'}; hub, Redis, RabbitMQ, Mosquitto, sshd and the simulated hosts share it.`,
    '',
    '| scenario | hosts | seconds | rate |',
    '|---|---:|---:|---:|',
    `| pull-mqtt: launch until every host notified | ${r.pull.hosts} | ${one(r.pull.allNotifiedSec)} | ${one(r.pull.notifiedPerSec)} hosts/s |`,
    `| pull-mqtt: notified + fetched + updated + finished + called back | ${r.pullCycle.jobs} | ${one(r.pullCycle.allFinishedSec)} | ${one(r.pullCycle.finishedPerSec)} jobs/s |`,
    `| ssh push, worker concurrency ${r.ssh.concurrency} | ${r.ssh.hosts} | ${one(r.ssh.allFinishedSec)} | ${one(r.ssh.hostsPerSec)} hosts/s |`,
    '',
    `- Launches are sent as Foreman does, ${String(r.settings.batchSize)} hosts per \`POST /dynflow/tasks/launch\` (the launch calls for the pull run took ${one(r.pull.launchSec)} s of the first figure).`,
    `- Pull notification: one wildcard MQTT subscriber stands in for all hosts; each host name is distinct (its own topic).`,
    `- Pull cycle: simulated hosts fetch over TLS with a client certificate and post one v1 update (output + exit); ${r.pullCycle.certificateIdentities} certificate identities round robin (${r.pullCycle.hostErrors} host-side errors).`,
    `- SSH: ${r.ssh.hosts} jobs against one local sshd on loopback aliases; each opens its own SSH connection (ed25519), uploads, runs, cleans up; ${r.ssh.exitZero} ended with exit 0.`,
    '',
  ].join('\n');
}

function renderRexChart(r: RexBenchResults): string {
  const bars = [
    { label: `pull notify (${r.pull.hosts})`, value: r.pull.allNotifiedSec },
    { label: `pull full cycle (${r.pullCycle.jobs})`, value: r.pullCycle.allFinishedSec },
    { label: `ssh push (${r.ssh.hosts})`, value: r.ssh.allFinishedSec },
  ];
  const frame = chartFrame(`proxyhub REX, seconds until all hosts done (${r.date.slice(0, 10)})`, niceMax(Math.max(...bars.map((b) => b.value))), (v) => `${Math.round(v)} s`);
  const width = frame.plotWidth / bars.length;
  bars.forEach((bar, i) => {
    const x = PLOT.left + i * width + width * 0.2;
    const y = frame.y(bar.value);
    frame.parts.push(`<rect x="${x}" y="${y}" width="${width * 0.6}" height="${frame.y(0) - y}" fill="#4a78b5"/>`);
    frame.parts.push(`<text x="${x + width * 0.3}" y="${y - 6}" text-anchor="middle">${one(bar.value)} s</text>`);
    frame.parts.push(`<text x="${x + width * 0.3}" y="${frame.y(0) + 18}" text-anchor="middle">${escapeXml(bar.label)}</text>`);
  });
  frame.parts.push('</svg>');
  return frame.parts.join('\n');
}

export function writeRexResults(results: RexBenchResults): Promise<{ readonly markdown: string; readonly files: readonly string[] }> {
  return writeResultFiles('rex', results, renderRexMarkdown(results), renderRexChart(results));
}
