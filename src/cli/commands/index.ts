/**
 * Every command of the `syncline` CLI, one module each. A new command is one new module and one
 * line here.
 */
import type { Command } from 'commander';
import { registerDlq } from './dlq.ts';
import { registerReplay } from './replay.ts';
import { registerInfra } from './infra.ts';
import { registerRun } from './run.ts';
import { registerDemo } from './demo.ts';
import { registerBench } from './bench.ts';
import { registerDocs } from './docs.ts';
import { registerSchemas } from './schemas.ts';
import { registerSimulate } from './simulate.ts';
import { registerTopology } from './topology.ts';
import { registerErp } from './erp.ts';
import { registerTargets } from './targets.ts';
import { registerMdm } from './mdm.ts';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  registerDlq,
  registerReplay,
  registerInfra,
  registerRun,
  registerDemo,
  registerSchemas,
  registerDocs,
  registerBench,
  registerSimulate,
  registerTopology,
  registerErp,
  registerTargets,
  registerMdm,
];
