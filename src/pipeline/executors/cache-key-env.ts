/**
 * The environment variable holding the instance's cache key while its command runs: it changes whenever any input
 * does (command, dep content, code, params, upstream keys), so a stage may use it to tell whether state it kept from
 * an interrupted run (a training checkpoint) belongs to the same inputs.
 */
export const CACHE_KEY_ENV = 'SELDPIPE_CACHE_KEY'
