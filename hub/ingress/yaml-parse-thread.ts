/** Runs in a parse thread of the ingress: one large YAML report body per task. */
import { serveTasks } from '../threads/serve-tasks.ts';
import { readYamlReport, type UploadedReport } from './yaml-report.ts';

serveTasks<string, UploadedReport>(readYamlReport);
