/**
 * The whole data layer, for the commands (`persona migrate`, the CLI's settings) until they import
 * ./read.ts or ./write.ts. Tiers import the entry point of their privilege: ./read.ts or ./write.ts.
 */
export * from './write.ts';
