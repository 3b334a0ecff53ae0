/**
 * The versions of the servers the local stack runs. Kafka 4.1 speaks every protocol version kafkajs
 * 2.2.4 needs (KIP-896 removed only versions kafkajs never uses by default); Apicurio Registry 3.3 serves
 * the Confluent API at /apis/ccompat/v7 and needs Java 21 or newer.
 */
export const KAFKA_VERSION = '4.1.1';
export const SCALA_VERSION = '2.13';
/** Kafka 4 logs through SLF4J 1.7; this binding routes it to log4j2, which Kafka already brings. */
export const LOG4J_VERSION = '2.24.3';
export const APICURIO_VERSION = '3.3.3';
export const APICURIO_MIN_JAVA = 21;
export const KAFKA_MIN_JAVA = 17;
