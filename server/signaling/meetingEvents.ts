import type { MediaRooms } from '../meetings/MediaRooms.js';
import { enterMeetingRoom, type MeetingHandlerDeps } from './meetingHandlers.js';
import { meetingRoom, type UccServerIo, type UccSocket } from './sockets.js';

export interface MeetingEventDeps extends MeetingHandlerDeps {
  io: UccServerIo;
  media: MediaRooms;
}

/** The gate's and the media's decisions as socket messages and room membership. */
export function forwardMeetingEvents(deps: MeetingEventDeps): void {
  const { io, gate, media } = deps;
  const socketById = (id: string): UccSocket | undefined => io.sockets.sockets.get(id);
  const toParticipant = (participantId: string): UccSocket | undefined => {
    const socketId = gate.socketOf(participantId);
    return socketId ? socketById(socketId) : undefined;
  };
  forwardGate(deps, socketById);

  media.on('newConsumer', (pid, consumer) => toParticipant(pid)?.emit('media.newConsumer', consumer));
  media.on('consumerClosed', (pid, consumerId) =>
    toParticipant(pid)?.emit('media.consumerClosed', { consumerId }),
  );
  media.on('consumerPaused', (pid, consumerId, paused) =>
    toParticipant(pid)?.emit('media.consumerPaused', { consumerId, paused }),
  );
  media.on('layersChanged', (pid, consumerId, layers) =>
    toParticipant(pid)?.emit('media.layersChanged', {
      consumerId,
      spatialLayer: layers?.spatialLayer ?? null,
      temporalLayer: layers?.temporalLayer ?? null,
    }),
  );
  media.on('activeSpeaker', (meetingId, participantId) =>
    io.to(meetingRoom(meetingId)).emit('media.activeSpeaker', { participantId }),
  );
  media.on('mutedByOrganizer', (pid, locked) =>
    toParticipant(pid)?.emit('media.mutedByOrganizer', { locked }),
  );
  media.on('cameraStopped', (pid) => toParticipant(pid)?.emit('media.cameraStoppedByOrganizer', {}));
  media.on('micUnlocked', (pid) => toParticipant(pid)?.emit('media.micUnlocked', {}));
  media.on('restart', (pid, reason) => toParticipant(pid)?.emit('media.restart', { reason }));
}

function forwardGate(deps: MeetingEventDeps, socketById: (id: string) => UccSocket | undefined): void {
  const { io, gate } = deps;
  gate.on('admitted', (socketId, info) => {
    const socket = socketById(socketId);
    if (!socket) return;
    enterMeetingRoom(deps, socket, info.meetingId, socket.data.auth);
    socket.emit('meeting.admitted', info);
  });
  gate.on('rejected', (socketId, error) => {
    socketById(socketId)?.emit('meeting.rejected', { error });
  });
  gate.on('participantJoined', (meetingId, participant, socketId) => {
    io.to(meetingRoom(meetingId)).except(socketId).emit('meeting.participantJoined', participant);
  });
  gate.on('participantUpdated', (meetingId, participant) => {
    io.to(meetingRoom(meetingId)).emit('meeting.participantUpdated', participant);
  });
  gate.on('participantLeft', (meetingId, participantId) => {
    io.to(meetingRoom(meetingId)).emit('meeting.participantLeft', { participantId });
  });
  gate.on('waiting', (socketId, waitingFor) => {
    socketById(socketId)?.emit('meeting.waiting', { waitingFor });
  });
  gate.on('lobby', (organizerSocketIds, waiting) => {
    io.to(organizerSocketIds).emit('meeting.lobby', { waiting });
  });
  gate.on('removed', (socketId, meetingId, reason) => {
    const socket = socketById(socketId);
    if (!socket) return;
    void socket.leave(meetingRoom(meetingId));
    socket.emit('meeting.removed', { reason });
  });
}
