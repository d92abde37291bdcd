/*
 * Where the host's /proc/sys stops being cheaper than a private procfs
 * instance (docs/sysctls.md, "Where the values are written"): from a fresh
 * net+ipc namespace, two sysctl writes through each, timed in the child.
 * Run at each density after growing the node with floor.c, e.g.
 *
 *   gcc -O2 -o xover bench/sysctl-crossover.c && gcc -static -O2 -o floor bench/floor.c
 *   ./floor DIR fill16 16 net.ipv4.ip_forward=1 kernel.shm_rmid_forced=1 && ./xover 400
 *
 * (root; DIR on a tmpfs of its own, unmounted lazily afterwards.)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/mount.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
static const char *keys[] = {"net/ipv4/ip_forward", "kernel/shm_rmid_forced"};
static void host(void){char p[128];for(int i=0;i<2;i++){snprintf(p,sizeof p,"/proc/sys/%s",keys[i]);int f=open(p,O_WRONLY|O_CLOEXEC);if(f<0||write(f,"1",1)!=1)exit(3);close(f);}}
static void priv(void){int fs=syscall(SYS_fsopen,"proc",FSOPEN_CLOEXEC);syscall(SYS_fsconfig,fs,FSCONFIG_CMD_CREATE,0,0,0);
 int m=syscall(SYS_fsmount,fs,FSMOUNT_CLOEXEC,MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV|MOUNT_ATTR_NOEXEC);close(fs);
 int d=openat(m,"sys",O_PATH|O_DIRECTORY|O_CLOEXEC);if(d<0)exit(4);
 for(int i=0;i<2;i++){int f=openat(d,keys[i],O_WRONLY|O_CLOEXEC);if(f<0||write(f,"1",1)!=1)exit(5);close(f);}
 close(d);close(m);}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){int n=atoi(argv[1]);double *h=calloc(n,8),*p=calloc(n,8);
 for(int i=0;i<n;i++){int fd[2];pipe(fd);pid_t c=fork();if(c==0){double r[2];unshare(CLONE_NEWNET|CLONE_NEWIPC);
   /* each path in a namespace of its own: a first lookup from a fresh netns, as in a pin */
   if(i%2){double t0=now();host();r[0]=now()-t0;unshare(CLONE_NEWNET|CLONE_NEWIPC);t0=now();priv();r[1]=now()-t0;}
   else{double t0=now();priv();r[1]=now()-t0;unshare(CLONE_NEWNET|CLONE_NEWIPC);t0=now();host();r[0]=now()-t0;}
   write(fd[1],r,sizeof r);_exit(0);}
  double r[2];read(fd[0],r,sizeof r);waitpid(c,0,0);close(fd[0]);close(fd[1]);h[i]=r[0];p[i]=r[1];}
 qsort(h,n,8,cmp);qsort(p,n,8,cmp);printf("host %.1f us  private %.1f us  (medians of %d; p25 %.1f / %.1f)\n",h[n/2],p[n/2],n,h[n/4],p[n/4]);}
