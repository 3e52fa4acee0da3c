import {createHash} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

/** A file a stand-in record serves, and how it misbehaves. */
export interface StandInFile {
  key: string
  content: Buffer
  /** The md5 the listing claims (default: the content's). */
  listedMd5?: string
  /** Cut the connection after this many bytes of the first transfer of the file. */
  cutFirstAt?: number
  /** Answer the first N requests for the file with this status (e.g. 503) before serving it. */
  failFirst?: {count: number; status: number}
  /** Ignore Range requests (answer 200 with the whole file). */
  ignoreRange?: boolean
  /** Answer the first Range request with 416 Range Not Satisfiable. */
  refuseFirstRange?: boolean
  /** Listed, but its download link answers 404. */
  gone?: boolean
}

export interface StandIn {
  url: string
  /** Every request, as `METHOD path [range]`. */
  requests: string[]
  close(): Promise<void>
}

/**
 * A loopback imitation of Zenodo's records API (127.0.0.1 only): GET /api/records/<id> lists files with key, size,
 * checksum "md5:…" and links.self; GET /files/<id>/<key> serves a file, honouring Range. Unknown records and files
 * answer 404.
 */
export async function startZenodoStandIn(records: Record<number, StandInFile[]>): Promise<StandIn> {
  const requests: string[] = []
  const served = new Map<string, number>()
  let url = ''
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const range = request.headers.range
    requests.push(`${request.method} ${request.url}${range ? ` ${range}` : ''}`)
    const listing = /^\/api\/records\/(\d+)$/.exec(request.url ?? '')
    if (listing) {
      const files = records[Number(listing[1])]
      if (!files) return void response.writeHead(404, {'content-type': 'application/json'}).end('{"status":404,"message":"PID does not exist."}')
      const body = {
        id: Number(listing[1]),
        files: files.map((file) => ({
          key: file.key,
          size: file.content.length,
          checksum: `md5:${file.listedMd5 ?? createHash('md5').update(file.content).digest('hex')}`,
          links: {self: `${url}/files/${listing[1]}/${encodeURIComponent(file.key)}`},
        })),
      }
      return void response.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(body))
    }
    const download = /^\/files\/(\d+)\/([^/]+)$/.exec(request.url ?? '')
    const file = download && records[Number(download[1])]?.find((candidate) => candidate.key === decodeURIComponent(download[2]))
    if (!file || file.gone) return void response.writeHead(404).end('not found')
    const id = `${download[1]}/${file.key}`
    const count = (served.get(id) ?? 0) + 1
    served.set(id, count)
    if (file.failFirst && count <= file.failFirst.count) return void response.writeHead(file.failFirst.status, {'retry-after': '0'}).end('try later')
    if (range && file.refuseFirstRange) {
      file.refuseFirstRange = false
      return void response.writeHead(416, {'content-range': `bytes */${file.content.length}`}).end()
    }
    const start = !file.ignoreRange && range ? Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0) : 0
    const body = file.content.subarray(start)
    const headers = {'content-type': 'application/zip', 'content-length': String(body.length), 'accept-ranges': 'bytes'}
    if (start > 0) response.writeHead(206, {...headers, 'content-range': `bytes ${start}-${file.content.length - 1}/${file.content.length}`})
    else response.writeHead(200, headers)
    if (file.cutFirstAt !== undefined && count === 1 + (file.failFirst?.count ?? 0)) {
      // The cut comes a moment after the bytes, as on a real network, so the client has them to resume from.
      response.write(body.subarray(0, file.cutFirstAt), () => setTimeout(() => response.socket?.destroy(), 200))
      return
    }
    response.end(body)
  }
  const server: Server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
