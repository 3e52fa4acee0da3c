/**
 * The report page's script, run in the browser over the embedded data (window.REPORT) with uPlot loaded: the sortable
 * results table, the learning curves with a toggle per run, the parameters with the differing ones marked, and the
 * figures of every cell. Kept as plain browser JavaScript (the project compiles for Node, without DOM types); the
 * report tests run it in Chromium.
 */
export const REPORT_CLIENT_SCRIPT = String.raw`
(function () {
  'use strict'
  var data = window.REPORT
  var runs = data.runs
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f']
  function color(i) { return palette[i % palette.length] }
  function el(tag, attrs, children) {
    var node = document.createElement(tag)
    for (var key in attrs || {}) {
      if (key === 'text') node.textContent = attrs[key]
      else if (key === 'class') node.className = attrs[key]
      else node.setAttribute(key, attrs[key])
    }
    ;(children || []).forEach(function (child) { node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child) })
    return node
  }
  function fixed(value, digits) { return value === null || value === undefined ? 'n/a' : value.toFixed(digits) }
  function show(value) { return value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value) }

  // Results: one row per evaluated run, sortable by any column (click a header; again to reverse).
  var table = document.getElementById('results')
  var columns = [{key: 'label', title: 'run', text: true}, {key: 'state', title: 'state', text: true}]
    .concat(data.metricColumns.map(function (c) { return {key: c.key, title: c.title, digits: /°$/.test(c.title) ? 1 : 3, lowerIsBetter: c.lowerIsBetter} }))
    .concat([{key: 'epochs', title: 'epochs', digits: 0}, {key: 'finishedAt', title: 'finished', text: true}])
  function cellValue(run, column) {
    if (column.key === 'label' || column.key === 'state') return run[column.key]
    if (column.key === 'epochs') return run.curve.length
    if (column.key === 'finishedAt') return run.finishedAt ? run.finishedAt.slice(0, 16).replace('T', ' ') : ''
    return run.metrics[column.key]
  }
  var best = {}
  data.metricColumns.forEach(function (c) {
    var values = runs.map(function (run) { return run.metrics[c.key] }).filter(function (v) { return v !== null })
    // Marked only where the runs differ: a tie everywhere says nothing.
    var low = Math.min.apply(null, values), high = Math.max.apply(null, values)
    if (values.length > 1 && low !== high) best[c.key] = c.lowerIsBetter ? low : high
  })
  var sortKey = 'seldScore', sortUp = true
  var thead = el('thead', {}, [el('tr', {}, columns.map(function (column) {
    var th = el('th', {'data-key': column.key, title: 'sort by ' + column.title, text: column.title})
    th.addEventListener('click', function () {
      sortUp = sortKey === column.key ? !sortUp : true
      sortKey = column.key
      renderRows()
    })
    return th
  }))])
  var tbody = el('tbody')
  table.appendChild(thead)
  table.appendChild(tbody)
  function renderRows() {
    var column = columns.filter(function (c) { return c.key === sortKey })[0]
    var sorted = runs.slice().sort(function (a, b) {
      var x = cellValue(a, column), y = cellValue(b, column)
      if (x === null && y === null) return 0
      if (x === null) return 1 // missing values last, whichever the direction
      if (y === null) return -1
      var order = column.text ? String(x).localeCompare(String(y)) : x - y
      return sortUp ? order : -order
    })
    tbody.textContent = ''
    sorted.forEach(function (run) {
      var tr = el('tr', {'data-run': run.id})
      columns.forEach(function (c) {
        var value = cellValue(run, c)
        var td = el('td', {text: c.text ? value : fixed(value, c.digits)})
        if (!c.text) td.className = 'number'
        if (c.key === 'state' && value !== 'up to date') { td.className = 'stale'; td.title = run.reasons.join('; ') }
        if (best[c.key] !== undefined && value === best[c.key]) td.className += ' best'
        tr.appendChild(td)
      })
      tbody.appendChild(tr)
    })
    Array.prototype.forEach.call(thead.querySelectorAll('th'), function (th) {
      th.className = th.getAttribute('data-key') === sortKey ? (sortUp ? 'sorted up' : 'sorted down') : ''
    })
  }
  renderRows()

  // Learning curves: one chart per measure, a series per run; uPlot's legend shows values under the cursor.
  var charts = []
  var curves = [
    {key: 'seldScore', title: 'SELD score'},
    {key: 'f1', title: 'F1'},
    {key: 'doaErrorDegrees', title: 'DOA error °'},
    {key: 'loss', title: 'training loss'},
  ]
  var maxEpoch = Math.max.apply(null, [0].concat(runs.map(function (run) { return run.curve.length ? run.curve[run.curve.length - 1].epoch : 0 })))
  var epochs = []
  for (var e = 1; e <= maxEpoch; e++) epochs.push(e)
  var curvesBox = document.getElementById('curves')
  var toggles = document.getElementById('run-toggles')
  if (maxEpoch === 0) curvesBox.appendChild(el('p', {text: 'No training log (log.jsonl) found for these runs.'}))
  else {
    curves.forEach(function (curve) {
      var series = [{label: 'epoch'}].concat(runs.map(function (run, i) {
        return {label: run.label, stroke: color(i), width: 2, spanGaps: true, points: {show: true, size: 5}, value: function (u, v) { return v === null || v === undefined ? '—' : v.toFixed(curve.key === 'doaErrorDegrees' ? 1 : 3) }}
      }))
      var values = [epochs].concat(runs.map(function (run) {
        var byEpoch = {}
        run.curve.forEach(function (record) { byEpoch[record.epoch] = record[curve.key] })
        return epochs.map(function (epoch) { var v = byEpoch[epoch]; return typeof v === 'number' && isFinite(v) ? v : null })
      }))
      var box = el('div', {class: 'chart', 'data-curve': curve.key})
      curvesBox.appendChild(box)
      charts.push(new uPlot({
        title: curve.title, width: 520, height: 260, series: series,
        scales: {x: {time: false}},
        axes: [{label: 'epoch', values: function (u, ticks) { return ticks.map(function (t) { return Number.isInteger(t) ? t : '' }) }}, {}],
      }, values, box))
    })
    runs.forEach(function (run, i) {
      var box = el('input', {type: 'checkbox', 'data-run': run.id})
      box.checked = true
      box.addEventListener('change', function () {
        charts.forEach(function (chart) { chart.setSeries(i + 1, {show: box.checked}) })
      })
      toggles.appendChild(el('label', {class: 'toggle', style: 'border-color:' + color(i)}, [box, ' ' + run.label]))
    })
  }
  window.reportCharts = charts

  // Parameters: a column per run, a row per key; rows whose value differs between runs are marked.
  var params = document.getElementById('params')
  var keys = []
  runs.forEach(function (run) { Object.keys(run.params).forEach(function (key) { if (keys.indexOf(key) < 0) keys.push(key) }) })
  var differing = data.differingParams
  params.appendChild(el('thead', {}, [el('tr', {}, [el('th', {text: 'parameter'})].concat(runs.map(function (run) { return el('th', {text: run.label}) })))]))
  var pbody = el('tbody')
  keys.forEach(function (key) {
    var tr = el('tr', {class: differing.indexOf(key) >= 0 ? 'differs' : ''}, [el('td', {text: key})])
    runs.forEach(function (run) { tr.appendChild(el('td', {text: show(run.params[key])})) })
    pbody.appendChild(tr)
  })
  params.appendChild(pbody)
  var onlyDiffering = document.getElementById('only-differing')
  onlyDiffering.addEventListener('change', function () { params.classList.toggle('only-differing', onlyDiffering.checked) })

  // Figures of every cell.
  var figures = document.getElementById('figures')
  runs.forEach(function (run) {
    var section = el('details', {open: ''}, [el('summary', {text: run.label + ' (' + run.figures.length + ' recording' + (run.figures.length === 1 ? '' : 's') + ', ' + run.evalDir + ')'})])
    if (run.figures.length === 0) section.appendChild(el('p', {text: 'No per-recording pictures in ' + run.evalDir + '.'}))
    run.figures.forEach(function (figure) {
      section.appendChild(el('figure', {}, [el('img', {src: 'data:image/png;base64,' + figure.pngBase64, alt: run.label + ' ' + figure.name}), el('figcaption', {text: figure.name})]))
    })
    figures.appendChild(section)
  })
})()
`
