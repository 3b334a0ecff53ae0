/**
 * The {@link EventBus} on kafkajs 2.2.4: one kafkajs client per bus (connection settings from the
 * validated config), producers and consumers built against its known pitfalls, and a broker
 * reachability probe for readiness. Stages take an `EventBus` and never import kafkajs.
 */
import type { Config } from '../config.ts';
import { createKafka } from '../kafka.ts';
import type { Logger } from '../logger.ts';
import type { Registry } from '../metrics.ts';
import { KafkajsEventConsumer, type KafkajsConsumerOptions } from './kafkajs-consumer.ts';
import { KafkajsHealth } from './kafkajs-health.ts';
import { KafkajsEventProducer, type KafkajsProducerOptions } from './kafkajs-producer.ts';
import type {
  ConsumerOptions,
  EventBus,
  EventConsumer,
  EventProducer,
  KafkaHealth,
  ProducerOptions,
} from './types.ts';

export { mapKafkaError } from './kafkajs-errors.ts';
export { KafkajsEventConsumer, type KafkajsConsumerOptions } from './kafkajs-consumer.ts';
export { KafkajsEventProducer, type KafkajsProducerOptions } from './kafkajs-producer.ts';
export { KafkajsHealth } from './kafkajs-health.ts';

const BUS_CLIENT_RETRY = { initialRetryTime: 250, retries: 5, maxRetryTime: 5000 };

export interface KafkajsBusOptions {
  /** Where producer and consumer metrics go; none are recorded without it. */
  metrics?: Registry;
  /** Appended to the configured client id, e.g. the role of the process. */
  clientSuffix?: string;
}

/** The kafkajs-backed bus, with access to the kafkajs-specific options for tuning and tests. */
export interface KafkajsBus extends EventBus {
  producer(
    options?: ProducerOptions &
      Partial<Pick<KafkajsProducerOptions, 'ackTimeoutMs' | 'retry' | 'instrument'>>,
  ): EventProducer;
  consumer(
    options: ConsumerOptions & Partial<Pick<KafkajsConsumerOptions, 'retry' | 'instrument'>>,
  ): EventConsumer;
}

export function createKafkajsBus(
  config: Config,
  logger: Logger,
  options: KafkajsBusOptions = {},
): KafkajsBus {
  // The client-level retry bounds connecting and metadata look-ups for every producer and consumer
  // of the bus: about 10 s of attempts, instead of the ~40 s of the general-purpose client, so a
  // stage without a broker says so quickly (and a webhook caller is answered 503, not left waiting).
  const kafka = createKafka(config, logger, options.clientSuffix, { retry: BUS_CLIENT_RETRY });
  const shared = { kafka, logger, ...(options.metrics ? { metrics: options.metrics } : {}) };
  return {
    producer: (producerOptions = {}) => new KafkajsEventProducer({ ...producerOptions, ...shared }),
    consumer: (consumerOptions) => new KafkajsEventConsumer({ ...consumerOptions, ...shared }),
    health: (): KafkaHealth => new KafkajsHealth(config, logger),
  };
}
