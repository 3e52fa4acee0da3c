import {parentPort, workerData} from 'node:worker_threads'
import {extractFeatureFile, type FeatureJob, type FeatureSettings, type WorkerReply} from './features.js'

// A thread of extractFeatureFiles: computes one recording per message and replies when its file is written; null ends it.
const settings = workerData as FeatureSettings
const port = parentPort
if (!port) throw new Error('features-worker runs only as a worker thread')
port.on('message', (job: FeatureJob | null) => {
  // null: no more work; closing the port lets the thread end once idle.
  if (job === null) return port.close()
  let reply: WorkerReply
  try {
    extractFeatureFile(job.wav, job.npy, settings)
    reply = {ok: true}
  } catch (error) {
    reply = {ok: false, message: (error as Error).message}
  }
  port.postMessage(reply)
})
