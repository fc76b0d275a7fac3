export * from './frame-decoder.js'
export * from './messages.js'
export * from './names.js'
