/// The retained, read-only local topics that each carry one part of the status, so that a client
/// hears about the part it cares about only when that part changes. `$bridge/status` keeps the
/// whole snapshot.
enum StatusTopic: String, CaseIterable, Sendable {
    case link = "$bridge/link"
    case wifi = "$bridge/wifi"
    case broker = "$bridge/broker"
    case esp = "$bridge/esp"
    case time = "$bridge/time"
    case counters = "$bridge/counters"

    var name: String { rawValue }

    /// This topic's part of `status`, as JSON.
    func payload(of status: BridgeStatus) -> [UInt8] {
        switch self {
        case .link: return StatusEncoding.json(LinkSummary(status.link))
        case .wifi: return StatusEncoding.json(status.wifi)
        case .broker: return StatusEncoding.json(BrokerSummary(status.broker))
        case .esp: return StatusEncoding.json(status.esp)
        case .time: return StatusEncoding.json(status.time)
        case .counters: return StatusEncoding.json(Counters(link: .init(status.link), traffic: status.traffic))
        }
    }

    /// What has to change for the topic to go out again: its payload, except that `$bridge/time` goes
    /// out when the synchronisation changes (a sync, a failure, the state), not as its clock runs or
    /// each STATS measures the host's offset again.
    func changeKey(of status: BridgeStatus) -> [UInt8] {
        guard self == .time else { return payload(of: status) }
        var time = status.time
        time.time = ""
        time.secondsSinceSync = nil
        time.hostOffsetSeconds = nil
        return StatusEncoding.json(time)
    }

    /// `$bridge/link`: where the link stands, without its counters.
    struct LinkSummary: Codable, Equatable {
        var state: String
        var device: String
        var baudRate: Int
        var detail: String

        init(_ link: BridgeStatus.Link) {
            state = link.state
            device = link.device
            baudRate = link.baudRate
            detail = link.detail
        }
    }

    /// `$bridge/broker`: `connected` spares clients from knowing the state names.
    struct BrokerSummary: Codable, Equatable {
        var connected: Bool
        var state: String
        var address: String
        var reason: String
        var lastReason: String
        var returnCode: Int

        init(_ broker: BridgeStatus.Broker) {
            connected = broker.state == "connected"
            state = broker.state
            address = broker.address
            reason = broker.reason
            lastReason = broker.lastReason
            returnCode = broker.returnCode
        }
    }

    /// `$bridge/counters`: everything that moves with the traffic.
    struct Counters: Codable, Equatable {
        var link: LinkCounters
        var traffic: BridgeStatus.Traffic
    }

    struct LinkCounters: Codable, Equatable {
        var framesIn, framesOut, bytesIn, bytesOut: Int
        var crcErrors, framingErrors, oversizeFrames, unsupportedFrames, resyncs: Int
        var resets, helloTimeouts, linkTimeouts: Int
        var retransmissions, duplicates, rejects: Int
        var roundTripMilliseconds: Double
        var baudFallbacks: Int
        var topicIDs, topicRegistrations, espTopicIDs: Int
        var fragmentsIn, fragmentsOut: Int

        init(_ link: BridgeStatus.Link) {
            framesIn = link.framesIn
            framesOut = link.framesOut
            bytesIn = link.bytesIn
            bytesOut = link.bytesOut
            crcErrors = link.crcErrors
            framingErrors = link.framingErrors
            oversizeFrames = link.oversizeFrames
            unsupportedFrames = link.unsupportedFrames
            resyncs = link.resyncs
            resets = link.resets
            helloTimeouts = link.helloTimeouts
            linkTimeouts = link.linkTimeouts
            retransmissions = link.retransmissions
            duplicates = link.duplicates
            rejects = link.rejects
            roundTripMilliseconds = link.roundTripMilliseconds
            baudFallbacks = link.baudFallbacks
            topicIDs = link.topicIDs
            topicRegistrations = link.topicRegistrations
            espTopicIDs = link.espTopicIDs
            fragmentsIn = link.fragmentsIn
            fragmentsOut = link.fragmentsOut
        }
    }
}

/// Remembers what each status topic last carried, so that a topic goes out only when it changed.
struct StatusTopicTracker {
    /// Each topic's ``StatusTopic/changeKey(of:)`` when it last went out.
    private(set) var current: [StatusTopic: [UInt8]] = [:]

    /// The topics among `topics` whose content changed since they last went out, in `topics`' order,
    /// with their new payloads; they count as carried from now on.
    mutating func changes(in status: BridgeStatus, among topics: [StatusTopic]) -> [(StatusTopic, [UInt8])] {
        var changed: [(StatusTopic, [UInt8])] = []
        for topic in topics {
            let key = topic.changeKey(of: status)
            guard current[topic] != key else { continue }
            current[topic] = key
            changed.append((topic, topic.payload(of: status)))
        }
        return changed
    }
}
