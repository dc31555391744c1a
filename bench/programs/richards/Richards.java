// Richards: the classic OS task-scheduler simulation (after Martin Richards'
// BCPL original and the Wolczko/Octane versions). Task polymorphism is a kind
// field and a dispatch method (as in the Toy version); the task state is three
// booleans as in Wolczko's version. Argument: number of runs (default 5000).
// Every run must end with queue count 2322 and hold count 928.
public class Richards {
  static final int ID_IDLE = 0, ID_WORKER = 1, ID_HANDLER_A = 2, ID_HANDLER_B = 3,
      ID_DEVICE_A = 4, ID_DEVICE_B = 5, NUMBER_OF_IDS = 6;
  static final int KIND_DEVICE = 0, KIND_WORK = 1;
  static final int TASK_IDLE = 0, TASK_WORKER = 1, TASK_HANDLER = 2, TASK_DEVICE = 3;
  static final int DATA_SIZE = 4;
  static final int COUNT = 1000;
  static final int EXPECTED_QUEUE_COUNT = 2322;
  static final int EXPECTED_HOLD_COUNT = 928;

  static final class Packet {
    Packet link;
    long id, kind, a1;
    long[] a2 = new long[DATA_SIZE];

    Packet(Packet link, long id, long kind) {
      this.link = link; this.id = id; this.kind = kind; this.a1 = 0;
    }

    // Appends this packet to the end of queue; returns the new queue.
    Packet addTo(Packet queue) {
      link = null;
      if (queue == null) return this;
      Packet next = queue;
      Packet peek = next.link;
      while (peek != null) {
        next = peek;
        peek = next.link;
      }
      next.link = this;
      return queue;
    }
  }

  static final class Task {
    long kind, v1, v2;
    Packet p1, p2;

    Task(long kind, long v1, long v2) { this.kind = kind; this.v1 = v1; this.v2 = v2; }
  }

  static final class Tcb {
    Tcb link;
    long id, priority;
    Packet queue;
    Task task;
    boolean packetPending, taskWaiting, taskHolding;

    // No queue: suspended; else suspended and runnable.
    Tcb(Tcb link, long id, long priority, Packet queue, Task task) {
      this.link = link; this.id = id; this.priority = priority; this.queue = queue; this.task = task;
      this.packetPending = queue != null;
      this.taskWaiting = true;
      this.taskHolding = false;
    }

    void setRunning() { packetPending = false; taskWaiting = false; taskHolding = false; }
    void markAsNotHeld() { taskHolding = false; }
    void markAsHeld() { taskHolding = true; }
    void markAsSuspended() { taskWaiting = true; }
    void markAsRunnable() { packetPending = true; }

    boolean isHeldOrSuspended() { return taskHolding || (!packetPending && taskWaiting); }

    Tcb run(Scheduler s) {
      Packet packet = null;
      if (packetPending && taskWaiting && !taskHolding) {
        packet = queue;
        queue = packet.link;
        if (queue == null) {
          setRunning();
        } else {
          packetPending = true;
          taskWaiting = false;
          taskHolding = false;
        }
      }
      return s.runTask(task, packet);
    }

    Tcb checkPriorityAdd(Tcb task, Packet packet) {
      if (queue == null) {
        queue = packet;
        markAsRunnable();
        if (priority > task.priority) return this;
      } else {
        queue = packet.addTo(queue);
      }
      return task;
    }
  }

  static final class Scheduler {
    long queueCount = 0, holdCount = 0;
    Tcb[] blocks = new Tcb[NUMBER_OF_IDS];
    Tcb list = null, currentTcb = null;
    long currentId = 0;

    void addTask(int id, long priority, Packet queue, Task task) {
      currentTcb = new Tcb(list, id, priority, queue, task);
      list = currentTcb;
      blocks[id] = currentTcb;
    }

    void addIdleTask(int id, long priority, Packet queue, long count) {
      addTask(id, priority, queue, new Task(TASK_IDLE, 1, count));
      currentTcb.setRunning();
    }

    void addWorkerTask(int id, long priority, Packet queue) {
      addTask(id, priority, queue, new Task(TASK_WORKER, ID_HANDLER_A, 0));
    }

    void addHandlerTask(int id, long priority, Packet queue) {
      addTask(id, priority, queue, new Task(TASK_HANDLER, 0, 0));
    }

    void addDeviceTask(int id, long priority, Packet queue) {
      addTask(id, priority, queue, new Task(TASK_DEVICE, 0, 0));
    }

    void schedule() {
      currentTcb = list;
      while (currentTcb != null) {
        if (currentTcb.isHeldOrSuspended()) {
          currentTcb = currentTcb.link;
        } else {
          currentId = currentTcb.id;
          currentTcb = currentTcb.run(this);
        }
      }
    }

    Tcb release(int id) {
      Tcb tcb = blocks[id];
      if (tcb == null) return tcb;
      tcb.markAsNotHeld();
      if (tcb.priority > currentTcb.priority) return tcb;
      return currentTcb;
    }

    Tcb holdCurrent() {
      holdCount++;
      currentTcb.markAsHeld();
      return currentTcb.link;
    }

    Tcb suspendCurrent() {
      currentTcb.markAsSuspended();
      return currentTcb;
    }

    Tcb queuePacket(Packet packet) {
      Tcb t = blocks[(int) packet.id];
      if (t == null) return t;
      queueCount++;
      packet.link = null;
      packet.id = currentId;
      return t.checkPriorityAdd(currentTcb, packet);
    }

    // ---- the four kinds of task

    Tcb runTask(Task task, Packet packet) {
      long k = task.kind;
      if (k == TASK_IDLE) return runIdle(task);
      if (k == TASK_WORKER) return runWorker(task, packet);
      if (k == TASK_HANDLER) return runHandler(task, packet);
      return runDevice(task, packet);
    }

    // v1: a pseudo-random seed; v2: the remaining count.
    Tcb runIdle(Task t) {
      t.v2--;
      if (t.v2 == 0) return holdCurrent();
      if ((t.v1 & 1) == 0) {
        t.v1 = t.v1 >> 1;
        return release(ID_DEVICE_A);
      }
      t.v1 = (t.v1 >> 1) ^ 0xD008;
      return release(ID_DEVICE_B);
    }

    // p1: the pending packet.
    Tcb runDevice(Task t, Packet packet) {
      if (packet == null) {
        if (t.p1 == null) return suspendCurrent();
        Packet v = t.p1;
        t.p1 = null;
        return queuePacket(v);
      }
      t.p1 = packet;
      return holdCurrent();
    }

    // v1: the destination handler; v2: a counter.
    Tcb runWorker(Task t, Packet packet) {
      if (packet == null) return suspendCurrent();
      if (t.v1 == ID_HANDLER_A) t.v1 = ID_HANDLER_B; else t.v1 = ID_HANDLER_A;
      packet.id = t.v1;
      packet.a1 = 0;
      for (int i = 0; i < DATA_SIZE; i++) {
        t.v2++;
        if (t.v2 > 26) t.v2 = 1;
        packet.a2[i] = t.v2;
      }
      return queuePacket(packet);
    }

    // p1: the work packet queue; p2: the device packet queue.
    Tcb runHandler(Task t, Packet packet) {
      if (packet != null) {
        if (packet.kind == KIND_WORK) {
          t.p1 = packet.addTo(t.p1);
        } else {
          t.p2 = packet.addTo(t.p2);
        }
      }
      if (t.p1 != null) {
        int count = (int) t.p1.a1;
        if (count < DATA_SIZE) {
          if (t.p2 != null) {
            Packet v = t.p2;
            t.p2 = t.p2.link;
            v.a1 = t.p1.a2[count];
            t.p1.a1 = count + 1;
            return queuePacket(v);
          }
        } else {
          Packet v = t.p1;
          t.p1 = t.p1.link;
          return queuePacket(v);
        }
      }
      return suspendCurrent();
    }
  }

  static Scheduler runRichards() {
    Scheduler s = new Scheduler();
    s.addIdleTask(ID_IDLE, 0, null, COUNT);

    Packet queue = new Packet(null, ID_WORKER, KIND_WORK);
    queue = new Packet(queue, ID_WORKER, KIND_WORK);
    s.addWorkerTask(ID_WORKER, 1000, queue);

    queue = new Packet(null, ID_DEVICE_A, KIND_DEVICE);
    queue = new Packet(queue, ID_DEVICE_A, KIND_DEVICE);
    queue = new Packet(queue, ID_DEVICE_A, KIND_DEVICE);
    s.addHandlerTask(ID_HANDLER_A, 2000, queue);

    queue = new Packet(null, ID_DEVICE_B, KIND_DEVICE);
    queue = new Packet(queue, ID_DEVICE_B, KIND_DEVICE);
    queue = new Packet(queue, ID_DEVICE_B, KIND_DEVICE);
    s.addHandlerTask(ID_HANDLER_B, 3000, queue);

    s.addDeviceTask(ID_DEVICE_A, 4000, null);
    s.addDeviceTask(ID_DEVICE_B, 5000, null);
    s.schedule();
    return s;
  }

  public static void main(String[] args) {
    long runs = 5000;
    if (args.length > 0) runs = Long.parseLong(args[0]);
    long queueCount = 0, holdCount = 0;
    for (long i = 0; i < runs; i++) {
      Scheduler s = runRichards();
      queueCount = s.queueCount;
      holdCount = s.holdCount;
      if (queueCount != EXPECTED_QUEUE_COUNT || holdCount != EXPECTED_HOLD_COUNT) {
        System.out.println("richards: bad result: queue count " + queueCount + ", hold count " + holdCount);
        System.exit(1);
      }
    }
    System.out.println("queue count: " + queueCount);
    System.out.println("hold count: " + holdCount);
  }
}
