/**
 * The Kafka client factory. Everything Kafka-facing in Syncline gets its client from here, so that
 * connection settings (brokers, TLS, SASL/SCRAM) are decided in one place, from the validated config.
 */
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import './kafkajs-patches.ts';

// kafkajs warns about its v2 partitioner change on every producer; we chose the default on purpose.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

/**
 * A kafkajs client for the configured cluster. `overrides` adjusts connection behaviour for one
 * purpose (e.g. a readiness probe that must fail fast instead of retrying); brokers, TLS and SASL
 * always come from the config.
 */
export function createKafka(
  config: Config,
  logger: Logger,
  clientSuffix?: string,
  overrides: Pick<KafkaConfig, 'connectionTimeout' | 'requestTimeout' | 'retry' | 'logLevel'> = {},
): Kafka {
  const kafkaConfig: KafkaConfig = {
    clientId: clientSuffix ? `${config.kafka.clientId}-${clientSuffix}` : config.kafka.clientId,
    brokers: config.kafka.brokers,
    ssl: config.kafka.ssl,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 10_000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => logKafkaEntry(logger, entry),
    ...overrides,
  };
  if (config.kafka.sasl) {
    const { mechanism, username, password } = config.kafka.sasl;
    kafkaConfig.sasl = { mechanism, username, password } as KafkaConfig['sasl'];
  }
  return new Kafka(kafkaConfig);
}

/** kafkajs' own log lines, routed into our structured logger at the matching level. */
function logKafkaEntry(logger: Logger, entry: LogEntry): void {
  const { message, ...rest } = entry.log;
  const fields = { component: 'kafkajs', namespace: entry.namespace, ...rest };
  switch (entry.level) {
    case KafkaLogLevel.ERROR:
      logger.error(fields, message);
      break;
    case KafkaLogLevel.WARN:
      logger.warn(fields, message);
      break;
    case KafkaLogLevel.INFO:
      logger.info(fields, message);
      break;
    default:
      logger.debug(fields, message);
  }
}
