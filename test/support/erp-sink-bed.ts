/**
 * What the ERP sink runner tests (sink runner, outage, transient failures, crash) share: a Kafka
 * client and a Redis connection with a private key prefix named after the test, the ERP REST sink
 * against a private ERP, and the sales orders the ERP holds (document number → versions).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { ErpRestSink } from '../../src/consumers/erp-rest/erp-rest-sink.ts';
import { loadConfig, type Config } from '../../src/runtime/config.ts';
import { createKafka } from '../../src/runtime/kafka.ts';
import { createLogger, type Logger } from '../../src/runtime/logger.ts';
import { ERP_TOKEN, type PrivateErp } from './erp.ts';

export interface SinkTestBed {
  config: Config;
  logger: Logger;
  /** Client id `it-<label>`. */
  kafka: Kafka;
  redis: Redis;
  /** `test:<label>:<random>:`, removed by `closeRedis`. */
  redisPrefix: string;
  /** Deletes the keys under the prefix and disconnects. */
  closeRedis: () => Promise<void>;
}

export function sinkTestBed(label: string, level: 'warn' | 'error' = 'error'): SinkTestBed {
  const config = loadConfig();
  const logger = createLogger({ level });
  const redis = new Redis(config.redisUrl);
  const redisPrefix = `test:${label}:${randomBytes(4).toString('hex')}:`;
  return {
    config,
    logger,
    kafka: createKafka(config, logger, `it-${label}`),
    redis,
    redisPrefix,
    closeRedis: async () => {
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
}

export function erpRestSinkOf(erp: PrivateErp, timeoutMs = 3000): ErpRestSink {
  return new ErpRestSink({ apiUrl: erp.erp.apiUrl, token: ERP_TOKEN, timeoutMs });
}

/** The ERP's sales orders by external document number (all of them, or those named). */
export async function salesOrderVersions(
  erp: PrivateErp,
  documentNumbers?: readonly string[],
): Promise<Map<string, { version: number; rowVersion: number }>> {
  const columns = 'SELECT external_document_number, external_version, row_version FROM sales_orders';
  const result = await erp.erp.pool.query<{
    external_document_number: string;
    external_version: string;
    row_version: string;
  }>(
    documentNumbers === undefined ? columns : `${columns} WHERE external_document_number = ANY($1)`,
    documentNumbers === undefined ? [] : [documentNumbers],
  );
  return new Map(
    result.rows.map((row) => [
      row.external_document_number,
      { version: Number(row.external_version), rowVersion: Number(row.row_version) },
    ]),
  );
}
