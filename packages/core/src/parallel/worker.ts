/**
 * Entry of a data-parallel training worker (a `worker_threads` Worker started by the pool of
 * worker-pool.ts; built as its own tsup entry, dist/worker.js and dist/worker.cjs).
 *
 * The worker initializes its own TensorFlow.js backend (the main thread's: wasm or cpu, always
 * one wasm thread: the parallelism is the workers themselves), builds its replica (see
 * worker-protocol.ts), says `ready` with its parameter keys and shapes, then for every `step`:
 *  1. copies every parameter from the shared `params` buffer into its replica's variables
 *     (each as a new tensor, see worker-memory.ts);
 *  2. computes loss and gradients of its shard (InProcessGradients, the replica's loss function
 *     through LossGradients, or the replica's strategy);
 *  3. writes each trained key's gradient into its own shared `grads` region and replies `done`
 *     with the loss (a float32 value) - or `error` with the message if anything threw.
 * A failing step leaves the worker usable; anything thrown outside a step (replica build)
 * is reported and the worker exits.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend.js';
import { Tower } from '../model/tower.js';
import type { GradientStrategy } from '../train/gradients.js';
import { InProcessGradients, LossGradients, type LossSpec } from '../train/loss-gradients.js';
import type { TrainableModel } from '../train/model.js';
import { readInto, writeVariable } from './worker-memory.js';
import type { ReplicaModel, ReplicaSpec, StepCommand, WorkerInit, WorkerReply } from './worker-protocol.js';

interface Replica {
  readonly params: ReadonlyMap<string, tf.Variable>;
  readonly strategy: GradientStrategy<unknown>;
}

const port = parentPort;
if (!port)
  throw new Error('@zipper/core parallel/worker is a worker_threads entry; DataParallelGradients starts it, do not run it directly');
const init = workerData as WorkerInit;
const reply = (m: WorkerReply): void => port.postMessage(m);
/** Position of each key in the shared layout (fixed for the worker's life). */
const keyIndex = new Map(init.layout.keys.map((k, i) => [k, i]));

async function build(spec: ReplicaSpec): Promise<Replica> {
  if (spec.kind === 'tower') {
    const tower = Tower.create(spec.config);
    return { params: tower.params, strategy: new InProcessGradients(tower) as GradientStrategy<unknown> };
  }
  const url = /^[a-z]+:/i.test(spec.module) ? spec.module : spec.module.startsWith('/') ? pathToFileURL(spec.module).href : spec.module;
  const mod = (await import(url)) as Record<string, unknown>;
  const name = spec.export ?? 'default';
  const factory = mod[name];
  if (typeof factory !== 'function') throw new Error(`replica module ${spec.module} has no function export "${name}"`);
  const made = (await (factory as (args: unknown) => ReplicaModel | Promise<ReplicaModel>)(spec.args)) as Partial<
    TrainableModel & LossSpec<unknown>
  > & { strategy?: GradientStrategy<unknown> };
  if (!made || !(made.params instanceof Map))
    throw new Error(
      `replica factory ${spec.module}#${name} must return { params: Map<string, tf.Variable>, forward }, { params, loss, countTargets } or { params, strategy }`,
    );
  if (made.strategy) return { params: made.params, strategy: made.strategy };
  if (typeof made.loss === 'function')
    return { params: made.params, strategy: new LossGradients({ ...(made as LossSpec<unknown>), params: made.params }) };
  if (typeof made.forward !== 'function')
    throw new Error(`replica factory ${spec.module}#${name} returned none of forward(ids), loss(batch, context) or a strategy`);
  return { params: made.params, strategy: new InProcessGradients(made as TrainableModel) as GradientStrategy<unknown> };
}

function step(replica: Replica, cmd: StepCommand): WorkerReply {
  const { layout } = init;
  const params = new Float32Array(init.params);
  const grads = new Float32Array(init.grads);
  const t0 = performance.now();
  layout.keys.forEach((k, i) => {
    const v = replica.params.get(k)!;
    writeVariable(v, params.subarray(layout.offsets[i]!, layout.offsets[i]! + v.size));
  });
  const t1 = performance.now();
  const r = replica.strategy.computeGradients(cmd.batch, {
    trainable: cmd.trainable,
    denominator: cmd.denominator,
    ...(cmd.denominators ? { denominators: cmd.denominators } : {}),
  });
  if (r instanceof Promise) throw new Error('a worker replica strategy must compute synchronously');
  const t2 = performance.now();
  try {
    for (const k of cmd.trainable) {
      const g = r.grads.get(k);
      if (!g) throw new Error(`the replica returned no gradient for "${k}"`);
      readInto(g, grads, layout.offsets[keyIndex.get(k)!]!);
    }
    const loss = r.loss.dataSync()[0]!;
    return {
      type: 'done',
      id: cmd.id,
      loss,
      ...(r.streams ? { streams: r.streams } : {}),
      computeMs: t2 - t1,
      copyMs: t1 - t0 + (performance.now() - t2),
    };
  } finally {
    r.loss.dispose();
    for (const g of r.grads.values()) g.dispose();
  }
}

function errorReply(id: number | null, e: unknown): WorkerReply {
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    type: 'error',
    id,
    message: `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`,
    ...(err.stack ? { stack: err.stack } : {}),
  };
}

async function main(): Promise<void> {
  let replica: Replica;
  try {
    await initBackend({ backend: init.backend, threads: 1 });
    replica = await build(init.replica);
    reply({ type: 'ready', keys: [...replica.params.keys()], shapes: [...replica.params.values()].map((v) => [...v.shape]) });
  } catch (e) {
    reply(errorReply(null, e));
    process.exit(1);
  }
  port!.on('message', (cmd: StepCommand) => {
    try {
      reply(step(replica, cmd));
    } catch (e) {
      reply(errorReply(cmd.id, e));
    }
  });
}

void main();
