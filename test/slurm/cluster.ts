import {execa} from 'execa'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const script = path.join(repoRoot, 'scripts', 'slurm-cluster.sh')

async function hasSlurmBinaries(): Promise<boolean> {
  const found = await execa('sh', ['-c', 'command -v sbatch && command -v slurmctld && command -v munged'], {reject: false})
  return found.exitCode === 0
}

/**
 * Makes sure the one-node loopback cluster runs, starting (and if needed installing) it. Returns why the Slurm tests
 * must be skipped only when the Slurm binaries cannot be installed on this machine at all, or when the machine has a
 * real cluster's slurm.conf; a cluster that is installed but does not start is a test failure, not a skip.
 */
export async function ensureCluster(): Promise<string | undefined> {
  if ((await execa('bash', [script, 'status'], {reject: false})).exitCode === 0) return undefined
  const started = await execa('bash', [script, 'start'], {reject: false, all: true, stdin: 'ignore'})
  if (started.exitCode === 0) return undefined
  // This machine belongs to a real cluster, whose configuration the loopback cluster must not replace.
  if (started.exitCode === 3) return started.all?.trim()
  if (!(await hasSlurmBinaries())) {
    return `Slurm is not installed and could not be installed (bash scripts/slurm-cluster.sh start said: ${started.all?.trim()})`
  }
  throw new Error(`the loopback Slurm cluster did not start:\n${started.all}`)
}

/** Slurm's view of a job (kept by the controller for MinJobAge after it ends), as key=value pairs. */
export async function showJob(id: string): Promise<Record<string, string>> {
  const {stdout} = await execa('scontrol', ['show', 'job', '--oneliner', id])
  return Object.fromEntries(stdout.trim().split(/\s+/).map((pair) => {
    const at = pair.indexOf('=')
    return [pair.slice(0, at), pair.slice(at + 1)]
  }))
}
