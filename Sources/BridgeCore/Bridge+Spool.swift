import BridgeMQTT
import BridgeSpool
import NIOCore

/// The durable outbound queue (`--spool`): a local qos 1 or 2 publish is acknowledged once it is on
/// disk and leaves the spool when the broker acknowledged it. The outbound queue holds the oldest
/// spooled publishes in memory, up to its bounds; the rest wait on disk only (the backlog) and are
/// read in order as the queue drains, so an outage of any length costs disk, not memory.
extension Bridge {
    /// What an earlier run left in the spool goes first, in order.
    func startSpool() {
        guard let spool, spool.count > 0 else { return }
        logger.notice(
            "the spool \(spool.directory) holds \(spool.count) messages (\(spool.bytes) B) accepted earlier and not yet acknowledged by the broker; they go first, in order"
        )
        spoolBacklogStart = 1
        loadSpoolBacklog()
    }

    /// A local qos 1 or 2 publish: into the spool; the client's PUBACK (or PUBREC) follows once it
    /// is on disk.
    func spoolPublish(_ publish: MQTTPublish, packetID: UInt16, from session: LocalClientSession) {
        guard let spool, let spooling = configuration.spool else { return }
        // A copy: the decoded payload is a slice that would keep the whole receive buffer alive.
        let payload = ByteBuffer(bytes: publish.payload.readableBytesView)
        let size = publish.topic.utf8.count + payload.readableBytes
        if spooling.whenFull == .dropOldest { makeRoomInSpool(for: size, maximumBytes: spooling.maximumBytes) }
        let (record, written) = spool.append(
            clientID: session.clientIdentifier, topic: publish.topic, payload: payload, qos: publish.qos.rawValue,
            retain: publish.retain)
        let connection = session.id
        let qos = publish.qos
        written.assumeIsolated().whenComplete { [self] result in
            guard case .success = result else { return }
            // A client that went away meanwhile sends it again on its next connection (qos 1: a duplicate).
            if let client = clients[connection] { client.acknowledgePublish(packetID: packetID, qos: qos) }
            loadSpoolBacklog()
            updateReadingFromClients()
        }
        if publish.retain { rememberRetained(topic: publish.topic, payload: payload, qos: qos) }
        if spoolBacklogStart == nil, !outbound.isFull {
            _ = outbound.enqueue(
                origin: .spooled(sequence: record.sequence, size: record.size), topic: record.topic,
                payload: payload, retain: record.retain)
            pumpOutbound()
        } else if spoolBacklogStart == nil {
            spoolBacklogStart = record.sequence
        }
        updateReadingFromClients(publisher: session)
    }

    /// Reads the oldest of the backlog into the outbound queue once it has room for a batch.
    func loadSpoolBacklog() {
        guard let spool, let start = spoolBacklogStart, !spoolLoading, outbound.isHalfEmpty else { return }
        spoolLoading = true
        spool.records(
            from: start, limit: outbound.capacity - outbound.count,
            maximumBytes: outbound.maximumBytes - outbound.bytes
        ).assumeIsolated().whenComplete { [self] result in
            spoolLoading = false
            switch result {
            case .success(let records):
                for record in records {
                    _ = outbound.enqueue(
                        origin: .spooled(sequence: record.sequence, size: record.size), topic: record.topic,
                        payload: record.payload, retain: record.retain)
                }
                if let last = records.last?.sequence {
                    spoolBacklogStart = last < spool.lastSequence ? last + 1 : nil
                } else if spool.uncommittedCount == 0 {
                    // Nothing on disk from `start` on, and nothing on its way there.
                    spoolBacklogStart = nil
                }
                // Else the rest is still being written: the write's completion loads it.
                pumpOutbound()
                if !records.isEmpty { loadSpoolBacklog() }
            case .failure(let error):
                logger.error("cannot read the spool \(spool.directory): \(error); trying again in a second")
                eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [self] in loadSpoolBacklog() }
            }
        }
    }

    /// Drop-oldest policy: removes the oldest publishes not yet sent until `size` more bytes fit.
    private func makeRoomInSpool(for size: Int, maximumBytes: Int) {
        guard let spool else { return }
        // Only spooled ones: the daemon's own (birth, wills) are not in the spool's bytes.
        while spool.bytes + size > maximumBytes,
            let oldest = outbound.dropOldestWaiting(where: { if case .spooled = $0 { true } else { false } }),
            case .spooled(let sequence, let recordSize) = oldest.origin
        {
            spool.remove(sequence, size: recordSize)
            status.spool.dropped += 1
            // One line per 100 drops: a long outage must not flood the log.
            if status.spool.dropped % 100 == 1 {
                logger.warning(
                    "the spool is full (\(maximumBytes) bytes, --spool-size); dropping the oldest messages (--spool-full drop-oldest), \(status.spool.dropped) so far"
                )
            }
        }
    }

    /// Writes what is gathered and closes the spool (stopping).
    func closeSpool() -> EventLoopFuture<Void> {
        spool?.close() ?? eventLoop.makeSucceededVoidFuture()
    }

    /// The spool's part of the status.
    func spoolStatus() -> BridgeStatus.Spool {
        var snapshot = status.spool
        guard let spool, let spooling = configuration.spool else { return snapshot }
        snapshot.enabled = true
        snapshot.directory = spool.directory
        snapshot.messages = spool.count
        snapshot.bytes = spool.bytes
        snapshot.maximumBytes = spooling.maximumBytes
        snapshot.whenFull = spooling.whenFull.rawValue
        snapshot.full = spool.bytes >= spooling.maximumBytes
        snapshot.unwritten = spool.uncommittedCount
        snapshot.commits = spool.counters.commits
        snapshot.committedMessages = spool.counters.committedRecords
        snapshot.failedCommits = spool.counters.failedCommits
        snapshot.lastError = spool.counters.lastError ?? ""
        snapshot.onDiskOnly = spoolBacklogStart != nil
        return snapshot
    }
}
