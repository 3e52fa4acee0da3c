import {createWriteStream, existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, extname, join, relative} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {Command, Flags} from '@oclif/core'
import type {BackendPreference} from '../seld/model/backend.js'
import {DEFAULT_EVENT_OPTIONS, EVENT_FORMATS, scoreEvents, type EventFormat, type EventScore} from '../seld/predict/events.js'
import {openWavFile} from '../seld/io/wav.js'

/** Copies stdin to a temporary file, so it too is read a block at a time rather than held whole. */
async function stdinToFile(): Promise<{file: string; remove: () => void}> {
  const dir = mkdtempSync(join(tmpdir(), 'seldpipe-stdin-'))
  const file = join(dir, 'stdin.wav')
  const remove = () => rmSync(dir, {recursive: true, force: true})
  await pipeline(process.stdin, createWriteStream(file)).catch((error: unknown) => {
    remove()
    throw error
  })
  return {file, remove}
}

export default class Predict extends Command {
  static override description = `Sound events with their directions in recordings, from a trained SELDnet model.

Each recording is cut into the model's sequences (a recording shorter than one is padded at the end), turned into
per-frame activities and directions, and the frames into events: a class is active where its activity is above --threshold; active frames
of a class separated by at most --max-gap seconds form one event; events shorter than --min-duration seconds are
dropped. An event's direction comes from the mean DOA vector over its frames, its confidence is its mean activity;
its start and end directions average its first and last 0.1 s, and its angular velocity is the angle between them
over the time between them.

Formats: csv (class,onset,offset,azimuth,elevation,confidence,start_azimuth,start_elevation,end_azimuth,end_elevation,
angular_velocity; seconds, degrees and °/s: a moving source's track from its start to its end direction), json (an
array of those events, each with its per-frame track [{time, azimuth, elevation}, ...]), dcase (DCASE 2019 task 3 output: frame,class,azimuth,elevation per active class and 20 ms frame, class as its index,
integer degrees, no header). <recording>.csv (or .json) and a picture <recording>.png (spectrogram, activity per
class, DOA tracks) are written into --out, by default beside each input. "-" reads a WAV from stdin (written as
stdin.csv into --out or the current folder).

Without --model, the model of the project's newest successful train instance, as the pipeline cache recorded it, is
used (and named); a training still running or killed does not count. A project without a cache uses the newest
work/*/*/model/best. --model also takes a run id from seldpipe exp show: the model that run was evaluated with,
restored from the cache when its folder is gone (or under cache/restored/ when its folder holds another model).
With --reference, each recording's events are compared with its description file: F1 over 1-second segments, and
the direction error of every annotated event that a predicted event of its class overlaps.`
  static override examples = [
    '<%= config.bin %> predict recording.wav',
    '<%= config.bin %> predict a.wav b.wav --model work/synth-foa/ov1_split1/model --out predictions --format json',
    '<%= config.bin %> predict recording.wav --model 3f2a9c1',
    'cat recording.wav | <%= config.bin %> predict - --format dcase --out .',
    '<%= config.bin %> predict work/synth-foa/ov1_split1/wav/test_000.wav --reference work/synth-foa/ov1_split1/desc --out predictions',
  ]
  static override usage = 'predict <file.wav...> [--model DIR] [--out DIR] [--threshold 0.5] [--format csv|json|dcase]'
  static override strict = false
  static override flags = {
    model: Flags.string({description: 'trained model folder (train output or its best/), or the id of a recorded run (seldpipe exp show); default: the newest successful train instance\'s'}),
    out: Flags.string({description: 'folder for the outputs (default: beside each input; the current folder for stdin)'}),
    threshold: Flags.string({default: String(DEFAULT_EVENT_OPTIONS.threshold), description: 'activity above which a class is active, in (0, 1)'}),
    format: Flags.string({default: 'csv', options: [...EVENT_FORMATS], description: 'output format'}),
    'max-gap': Flags.string({default: String(DEFAULT_EVENT_OPTIONS.maxGapSeconds), description: 'seconds of inactivity still bridged inside one event'}),
    'min-duration': Flags.string({default: String(DEFAULT_EVENT_OPTIONS.minDurationSeconds), description: 'seconds: shorter events are dropped'}),
    plot: Flags.boolean({default: true, allowNo: true, description: 'write <recording>.png beside the output'}),
    reference: Flags.string({description: 'folder of description files <recording>.csv (TUT 2018 layout): score the events against them'}),
    backend: Flags.string({default: 'auto', description: 'tfjs backend: auto, tensorflow, wasm or cpu'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Predict)
    const inputs = argv as string[]
    const fail = (message: string): never => this.error(message, {exit: 2})
    if (inputs.length === 0) fail('no recording given: seldpipe predict <file.wav...> (or - for stdin)')
    if (inputs.filter((input) => input === '-').length > 1) fail('stdin (-) can be read only once')
    if (flags.reference !== undefined && inputs.includes('-')) fail('--reference matches description files by recording name: give files, not stdin')
    // Seconds and the threshold are given as text so that a typo is an error rather than oclif's NaN-prone parsing.
    const number = (name: 'threshold' | 'max-gap' | 'min-duration', valid: (value: number) => boolean, range: string) => {
      const value = Number(flags[name])
      if (flags[name].trim() === '' || !valid(value)) fail(`--${name} must be ${range}, got '${flags[name]}'`)
      return value
    }
    const seconds = (value: number) => value >= 0 && value < Infinity
    const events = {
      threshold: number('threshold', (value) => value > 0 && value < 1, 'a number between 0 and 1 (exclusive)'),
      maxGapSeconds: number('max-gap', seconds, 'a number of seconds ≥ 0'),
      minDurationSeconds: number('min-duration', seconds, 'a number of seconds ≥ 0'),
    }
    const format = flags.format as EventFormat
    // tfjs and the plotting canvas load only once the arguments are known to be good (and not for --help).
    const [{initBackend}, {loadPredictor, outputStem, predictToFiles, projectRoot, readAnnotations, STDIN_NAME}, {latestModelDir}] = await Promise.all([
      import('../seld/model/backend.js'),
      import('../seld/predict/predictor.js'),
      import('../seld/model/model-folder.js'),
    ])
    const stems = inputs.map((input) => outputStem(input, flags.out))
    const clash = stems.find((stem, i) => stems.indexOf(stem) !== i)
    if (clash !== undefined) fail(`two inputs would both write ${clash}.*: give them different names or predict them separately`)

    let predictor
    try {
      const modelDir = flags.model === undefined
        ? await defaultModelDir(projectRoot(), latestModelDir, (line) => this.logToStderr(line))
        : await this.modelFolder(flags.model, projectRoot())
      await initBackend(flags.backend as BackendPreference, (line) => this.logToStderr(line))
      predictor = await loadPredictor(modelDir)
    } catch (error) {
      this.error((error as Error).message, {exit: 1})
    }
    const {info} = predictor
    this.logToStderr(`model: ${predictor.dir} (${info.dataset}, ${info.featureKind ?? 'stft'} features, nfft ${info.nfft}, ${info.output ?? 'seldnet'} output, ${info.classes.length} classes)`)

    let failures = 0
    for (const [i, input] of inputs.entries()) {
      let opened: ReturnType<typeof openWavFile> | undefined
      let copied: Awaited<ReturnType<typeof stdinToFile>> | undefined
      try {
        // Read a block at a time as the model needs it.
        if (input === '-') copied = await stdinToFile()
        const audio = (opened = input === '-' ? openWavFile(copied!.file, {}, STDIN_NAME) : openWavFile(input))
        const annotated = flags.reference === undefined ? undefined : readAnnotations(flags.reference, basename(input, extname(input)), predictor.info.classes, predictor.info.dataset)
        const result = await predictToFiles(predictor, audio, input === '-' ? STDIN_NAME : input, stems[i], {format, events, plot: flags.plot})
        this.log(`${input}: ${result.events.length} event${result.events.length === 1 ? '' : 's'} → ${[result.outputFile, result.pictureFile].filter(Boolean).join(', ')}`)
        if (annotated) this.log(`  ${describeScore(scoreEvents(result.events, annotated, audio.length / audio.sampleRate))}`)
      } catch (error) {
        failures++
        this.logToStderr(`error: ${(error as Error).message}`)
      } finally {
        opened?.close()
        copied?.remove()
      }
    }
    if (failures > 0) this.error(`${failures} of ${inputs.length} recordings failed`, {exit: 1})
  }

  /** A folder as given, or the train out of a recorded run when the flag is a run id rather than a path. */
  private async modelFolder(model: string, root: string): Promise<string> {
    if (existsSync(model) || !/^[0-9a-f]{4,64}$/.test(model)) return model
    const {withRuns, recordedOuts} = await import('../pipeline/state/records.js')
    const fail = (message: string): never => this.error(message, {exit: 2})
    const [folder] = await withRuns(join(root, 'pipeline.yaml'), [model], fail, ([run], cache) => recordedOuts(cache, root, run, 'train'))
    this.logToStderr(`run ${model}: model ${relative(process.cwd(), folder) || '.'}`)
    return folder
  }
}

/** The model of the newest successful train instance the cache recorded; without a cache, the newest model folder. */
async function defaultModelDir(root: string, latestModelDir: (root: string) => string, log: (line: string) => void): Promise<string> {
  const {newestRecordedOut} = await import('../pipeline/state/recorded-outs.js')
  const {hasIndex, out} = await newestRecordedOut(root, 'train')
  if (out) {
    log(`using the model of ${out.id}, the newest successful training (finished ${out.finishedAt})`)
    return out.path
  }
  if (hasIndex) {
    throw new Error(`no successful train instance in ${root}/cache whose model is intact on disk (an unfinished training's model is not used): run the pipeline, or pass --model`)
  }
  const dir = latestModelDir(root)
  log(`no pipeline cache in ${root}: using the newest model folder, ${dir}`)
  return dir
}

function describeScore(score: EventScore): string {
  const direction = score.directionErrors.length === 0 ? 'no annotated event found' : `direction error median ${score.medianDirectionError.toFixed(1)}°`
  return `F1 ${score.f1.toFixed(3)} over ${score.segments} one-second segments; ${direction} (${score.directionErrors.length} of ${score.annotated} annotated events found)`
}
